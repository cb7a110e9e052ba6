"""Flask application factory: `create_app()` for gunicorn (`gunicorn 'app:create_app()'`)."""
from __future__ import annotations

from flask import Flask

from bot import runtime
from bot.config import Settings


def create_app(config: dict | None = None, rt: runtime.Runtime | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
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
