"""Roster import: E.164 numbers, line-numbered errors, re-import updates instead of duplicating."""
from sqlalchemy import func, select

from bot.contacts.roster import import_csv
from bot.store.models import Person, School

HEADER = "phone,name,role,school_emis,school_name,upazila,district,language,channel\n"


def write(tmp_path, rows):
    path = tmp_path / "roster.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    return path


def people(rt):
    with rt.db.session() as db:
        return {p.phone: (p.name, p.role, p.language, p.channel, p.school.emis if p.school else None)
                for p in db.execute(select(Person)).scalars()}


def test_phone_formats_are_normalised(rt, tmp_path):
    path = write(tmp_path, "01711000011,A,teacher,1001,School A,U,D,bn,sms\n"
                           "8801711000012,B,teacher,1001,School A,U,D,en,whatsapp\n"
                           "+880 17 11 000013,C,headteacher,1001,School A,U,D,bn,voice\n"
                           "017-1100-0014,D,officer,,,U,D,,\n")
    with rt.db.session() as db:
        report = import_csv(db, path, rt.now())
    assert (report.created, report.errors) == (4, [])
    got = people(rt)
    assert set(got) == {"+8801711000011", "+8801711000012", "+8801711000013", "+8801711000014"}
    assert got["+8801711000014"] == ("D", "officer", "bn", "sms", None)  # defaults


def test_bad_rows_are_reported_with_line_numbers_and_good_rows_land(rt, tmp_path):
    path = write(tmp_path, "01711000021,Good,teacher,1001,S,U,D,bn,sms\n"
                           "12345,Bad Phone,teacher,1001,S,U,D,bn,sms\n"
                           "01711000022,Bad Role,principal,1001,S,U,D,bn,sms\n"
                           "01711000023,Bad Lang,teacher,1001,S,U,D,fr,sms\n"
                           "01711000021,Again,teacher,1001,S,U,D,bn,sms\n"
                           "01711000024,,teacher,1001,S,U,D,bn,sms\n"
                           "01711000025,No School,teacher,,,U,D,bn,sms\n")
    with rt.db.session() as db:
        report = import_csv(db, path, rt.now())
    assert report.created == 1
    assert [line for line, _ in report.errors] == [3, 4, 5, 6, 7, 8]
    assert "12345" in report.errors[0][1]
    assert "principal" in report.errors[1][1]
    assert "line 2" in report.errors[3][1]
    assert list(people(rt)) == ["+8801711000021"]


def test_reimport_updates_instead_of_duplicating(rt, tmp_path):
    path = write(tmp_path, "01711000031,Rina,teacher,1001,S,U,D,bn,sms\n")
    with rt.db.session() as db:
        import_csv(db, path, rt.now())
    path = write(tmp_path, "+8801711000031,Rina Akter,teacher,1002,S2,U,D,en,whatsapp\n")
    with rt.db.session() as db:
        report = import_csv(db, path, rt.now())
    assert (report.created, report.updated) == (0, 1)
    # name and school follow the office's roster; language and channel stay the person's choice
    assert people(rt) == {"+8801711000031": ("Rina Akter", "teacher", "bn", "sms", "1002")}
    with rt.db.session() as db:
        assert db.execute(select(func.count(School.id))).scalar() == 2
        report = import_csv(db, path, rt.now())
    assert report.unchanged == 1


def test_missing_columns_are_refused(rt, tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("phone,name\n01711000041,X\n")
    with rt.db.session() as db:
        report = import_csv(db, path, rt.now())
    assert report.errors and "role" in report.errors[0][1]
    assert people(rt) == {}


def test_reimport_keeps_what_a_person_chose_in_onboarding(rt, roster, tw, work, tmp_path):
    for text in ("hi", "2", "2"):  # English, WhatsApp
        tw.sms("+8801711000001", text)
    work()
    from bot.contacts.roster import DEMO_NAME
    with rt.db.session() as db:
        import_csv(db, rt.settings.flows_dir / DEMO_NAME, rt.now())
    assert people(rt)["+8801711000001"][2:4] == ("en", "whatsapp")
