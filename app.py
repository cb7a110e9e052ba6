"""Flask application factory: `create_app()` for gunicorn (`gunicorn 'app:create_app()'`)."""
from __future__ import annotations

from flask import Flask
from flask.ctx import RequestContext

from bot import runtime
from bot.config import Settings

SESSIONLESS = frozenset({"messaging", "voice"})
"""Blueprints whose views never use the session (bot/web.py's webhooks, /healthz, /metrics;
ivr/web.py's voice webhooks): their requests get Flask's null session, so no cookie is read or
verified and no signing serializer is built for them. The console's requests keep theirs."""


class _RequestContext(RequestContext):
    """Flask's, with the URL matched before the session is opened instead of just after, so
    a request for a view of a SESSIONLESS blueprint opens none (the cost of opening one, a
    signing serializer built per request, was a twelfth of a webhook's CPU). No URL converter
    here reads the session, which is why Flask matches after opening it."""

    def push(self) -> None:
        if self._session is None and self.url_adapter is not None:
            self.match_request()
            rule = self.request.url_rule
            if rule is not None and rule.endpoint.partition(".")[0] in SESSIONLESS:
                self._session = self.app.session_interface.make_null_session(self.app)
        super().push()

    def match_request(self) -> None:
        if self.request.url_rule is None and self.request.routing_exception is None:
            super().match_request()  # once: push() would match again after the session


class _App(Flask):
    def request_context(self, environ) -> RequestContext:
        return _RequestContext(self, environ)


def create_app(config: dict | None = None, rt: runtime.Runtime | None = None) -> Flask:
    app = _App(__name__, instance_relative_config=True)
    from bot.web import MAX_REQUEST_BYTES

    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES  # bigger requests: 413, never read
    app.config.update(config or {})
    if not app.testing:
        from bot import logs

        logs.setup()
    if rt is not None:
        runtime.install(rt)
    elif config and "SETTINGS" in config:
        runtime.install(runtime.Runtime(config["SETTINGS"]))

    import console
    from bot.web import bp
    from ivr.web import bp as voice_bp

    app.register_blueprint(bp)
    app.register_blueprint(voice_bp)
    console.register(app)  # /console: the programme console (console/__init__.py)
    return app


__all__ = ["create_app", "Settings"]
