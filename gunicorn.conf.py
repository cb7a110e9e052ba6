"""gunicorn's settings for the webhooks, as production runs them:

    gunicorn -c gunicorn.conf.py 'app:create_app()'

Each can be changed from the environment (below) or on the command line, which wins. The
figures behind the defaults are in the README (bench/throughput.py, on a 2-core machine).
"""
import multiprocessing
import os

bind = os.environ.get("SATHI_WEB_BIND", "127.0.0.1:8000")  # behind the reverse proxy

# Workers: processes, each with a few threads. A webhook spends most of its time waiting on
# PostgreSQL (one INSERT, committed to disk) and Redis (one pipeline), and threads overlap
# those waits, where a sync worker would sit idle through them.
workers = int(os.environ.get("SATHI_WEB_WORKERS", multiprocessing.cpu_count() + 1))
worker_class = "gthread"
threads = int(os.environ.get("SATHI_WEB_THREADS", 4))

# Timeouts. A webhook gives the database 3 s before it spools (bot/msgs/spool.py), a voice
# turn answers within Twilio's 15 s; a worker silent for `timeout` seconds is killed and
# replaced. On SIGTERM, requests in flight get `graceful_timeout` seconds to finish.
timeout = 30
graceful_timeout = 20
keepalive = 5  # seconds an idle keep-alive connection from the proxy stays open

# The app is loaded in each worker after the fork (no preload): each worker opens its own
# database and Redis connections and starts its own spool replayer thread (bot/msgs/spool.py).
preload_app = False

# A request line or header this big is no Twilio request (bodies are capped by the app:
# bot/web.py MAX_REQUEST_BYTES).
limit_request_line = 8190
limit_request_fields = 100

accesslog = os.environ.get("SATHI_WEB_ACCESS_LOG") or None  # "-" for stdout; off by default
errorlog = "-"
loglevel = os.environ.get("SATHI_WEB_LOG_LEVEL", "info")


def post_worker_init(worker):
    """The app is loaded in this worker and lives as long as it: its objects are moved out of
    the garbage collector's way, so a full collection walks what requests made, not the whole
    app again (about 140,000 objects here)."""
    import gc

    gc.freeze()
