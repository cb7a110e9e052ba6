"""Romanised Bangla is a language like the others: the roster and flows may set it."""
from sqlalchemy import select

from bot.contacts.roster import import_csv
from bot.store.models import Person

HEADER = "phone,name,role,school_emis,school_name,upazila,district,language,channel\n"


def test_the_roster_accepts_romanised_bangla_in_any_case(rt, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text(HEADER + "01711000061,Mita,teacher,2001,S,U,D,bn-Latn,sms\n"
                             "01711000062,Rina,teacher,2001,S,U,D,BN-LATN,sms\n"
                             "01711000063,Bad,teacher,2001,S,U,D,bn-Beng,sms\n", encoding="utf-8")
    with rt.db.session() as db:
        report = import_csv(db, path, rt.now())
        langs = dict(db.execute(select(Person.phone, Person.language)).all())
    assert langs == {"+8801711000061": "bn-Latn", "+8801711000062": "bn-Latn"}
    assert report.errors == [(4, "language 'bn-Beng' is not one of bn, en, bn-Latn")]
