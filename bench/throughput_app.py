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

    def trivial():  # reads the form, as the webhook does, and answers: no I/O
        from flask import Response

        return Response(b"%d" % len(production_form()), content_type="text/plain")

    # an endpoint of the webhooks' blueprint, so it is treated as they are: no session opened
    # (app.SESSIONLESS) and the same request hooks; its answer made as cheaply as theirs
    flask_app.add_url_rule("/bench/trivial", endpoint="messaging.bench_trivial",
                           view_func=trivial, methods=["POST"])
    return flask_app


def production_form():
    from flask import request

    return request.form
