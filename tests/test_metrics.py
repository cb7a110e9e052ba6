"""GET /metrics: Prometheus's text format, with what an operator watches: messages in and out
by channel and status, queue depths, send latency, retries, the spool, the NLU backend."""
from prometheus_client.parser import text_string_to_metric_families
from rq.registry import ScheduledJobRegistry

from bot.store.db import Database

TEACHER = "+8801711000001"


def scrape(app) -> dict:
    resp = app.test_client().get("/metrics")
    assert resp.status_code == 200
    assert resp.mimetype == "text/plain"
    out = {}
    for family in text_string_to_metric_families(resp.get_data(as_text=True)):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_what_happened(rt, roster, app, tw, work, twilio):
    tw.sms(TEACHER, "hi")
    tw.sms(TEACHER, "hi", sid="SMdup")
    tw.sms(TEACHER, "hi", sid="SMdup")  # a retry: a duplicate
    before = scrape(app)
    assert value(before, "sathi_messages_in_total", channel="sms", status="recorded") == 2
    assert value(before, "sathi_messages_in_total", channel="sms", status="duplicate") == 1
    assert value(before, "sathi_queue_jobs", queue="inbound", state="waiting") == 2
    assert value(before, "sathi_nlu_backend", backend="embedded") == 1
    assert value(before, "sathi_spool_files", state="pending") == 0
    assert value(before, "sathi_up", part="database") == 1

    twilio.fail_rate_limited(times=1)
    work()  # the first reply is deferred (429), and the others wait behind it
    assert value(scrape(app), "sathi_send_retries_total", channel="sms", reason="provider") == 1
    q = rt.queue("outbound")
    for job_id in ScheduledJobRegistry(queue=q).get_job_ids():  # its time comes
        job = q.fetch_job(job_id)
        job.func(*job.args)
    after = scrape(app)
    sent = value(after, "sathi_messages_out_total", channel="sms", status="sent")
    assert sent == len(twilio.messages()) >= 2
    assert value(after, "sathi_send_retries_total", channel="sms", reason="provider") == 1
    assert value(after, "sathi_queue_jobs", queue="inbound", state="waiting") == 0
    assert value(after, "sathi_send_seconds_count", channel="sms") == sent + 1
    assert value(after, "sathi_send_seconds_bucket", channel="sms", le="+Inf") == sent + 1


def test_metrics_show_the_spool_while_the_database_is_down(rt, roster, app, tw):
    real, rt.db = rt.db, Database("postgresql+psycopg://postgres@127.0.0.1:1/down?connect_timeout=1")
    try:
        tw.sms(TEACHER, "hi")
        samples = scrape(app)  # answers without the database
    finally:
        rt.db.dispose()
        rt.db = real
    assert value(samples, "sathi_spool_files", state="pending") == 1
    assert value(samples, "sathi_messages_in_total", channel="sms", status="spooled") == 1
    assert value(samples, "sathi_up", part="database") == 0
