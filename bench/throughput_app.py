"""The production app plus one trivial endpoint, for bench/throughput.py: gunicorn serves both
from the same workers, so the webhook is measured beside the least a Flask request can cost.

    gunicorn -c gunicorn.conf.py --pythonpath bench 'throughput_app:create_app()'
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import app as production  # noqa: E402


def create_app():
    flask_app = production.create_app()

    @flask_app.post("/bench/trivial")
    def trivial():  # reads the form, as the webhook does, and answers: no I/O
        return {"ok": len(production_form())}

    return flask_app


def production_form():
    from flask import request

    return request.form
