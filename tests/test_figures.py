"""One school's week, as its headteacher and the officers see it: from the teachers' own
reflection answers and the headteacher's check-in; what is not recorded shows as zero/None."""
from datetime import datetime, timedelta, timezone

from bot.digests.figures import SchoolWeek, school_week
from bot.store.models import Answer, CampaignRun, Checkin, FlowRun, Person, School

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)
WEEK = "2026-W49"


def _school(db, emis):
    s = School(emis=emis, name=f"স্কুল {emis}", upazila="চরফ্যাশন", district="ভোলা")
    db.add(s)
    db.flush()
    return s


def _teacher(db, school, n, **kw):
    p = Person(phone=f"+88018110000{n:02d}", name=f"শিক্ষক {n}", role="teacher", language="bn",
               channel="sms", school_id=school.id, created_at=NOW,
               onboarded_at=kw.pop("onboarded_at", NOW), **kw)
    db.add(p)
    db.flush()
    return p


def _reflection(db, person, week=WEEK, flow="reflection", **answers):
    run = FlowRun(person_id=person.id, flow=flow, status="active", session={}, started_at=NOW)
    db.add(run)
    db.flush()
    db.add(CampaignRun(campaign="reflection", week=week, person_id=person.id, status="sent",
                       planned_at=NOW, flow_run_id=run.id))
    for i, (name, value) in enumerate(answers.items()):
        db.add(Answer(run_id=run.id, field=name, value=value,
                      created_at=NOW + timedelta(minutes=i)))
    return run


def test_a_schools_week_from_its_teachers_answers_and_its_headteachers_checkin(rt):
    with rt.db.session() as db:
        school, other = _school(db, "91000001"), _school(db, "91000002")
        t = [_teacher(db, school, n) for n in range(1, 6)]
        _teacher(db, school, 6, onboarded_at=None)  # rostered, never joined
        stopped = _teacher(db, school, 7, opted_out_at=NOW)
        head = Person(phone="+8801811000099", name="প্রধান", role="headteacher", language="bn",
                      channel="voice", school_id=school.id, created_at=NOW)
        db.add(head)
        db.flush()
        _reflection(db, t[0], tried="yes", share="yes")
        run = _reflection(db, t[1], tried="no", obstacle="materials")
        db.add(Answer(run_id=run.id, field="tried", value="partly", created_at=NOW + timedelta(
            hours=1)))  # changed their answer: the last one counts
        _reflection(db, t[2], tried="no", obstacle="time")
        _reflection(db, t[3], tried="no", obstacle="materials", share="no")
        _reflection(db, t[4])  # asked, never answered
        _reflection(db, stopped, tried="yes")  # opted out since: not counted
        _reflection(db, t[0], week="2026-W48", tried="yes")  # last week
        _reflection(db, _teacher(db, other, 20), tried="yes", share="yes")  # another school
        db.add(Checkin(school_id=school.id, week=WEEK, person_id=head.id, channel="voice",
                       meeting=True, practised=False, walks=2, foundation_lessons=None,
                       created_at=NOW, updated_at=NOW))
    with rt.db.session() as db:
        fig = school_week(db, school.id, WEEK)
    assert (fig.teachers, fig.active, fig.asked, fig.answered) == (6, 5, 5, 4)
    assert fig.tried == ("শিক্ষক 1", "শিক্ষক 2")
    assert fig.obstacles == {"materials": 2, "time": 1} and fig.top_obstacle == "materials"
    assert fig.sharers == ("শিক্ষক 1",)
    assert (fig.meeting, fig.practised, fig.walks, fig.foundation_lessons) == (True, False, 2, None)


def test_a_week_with_nothing_recorded_is_all_zero_and_none(rt):
    with rt.db.session() as db:
        school = _school(db, "91000003")
        fig = school_week(db, school.id, WEEK)
    assert fig == SchoolWeek(school_id=school.id, week=WEEK)
    assert fig.top_obstacle is None and fig.meeting is None


def test_a_tie_between_obstacles_goes_to_the_first_code():
    fig = SchoolWeek(school_id=1, week=WEEK, obstacles={"other": 2, "time": 2})
    assert fig.top_obstacle == "time"
