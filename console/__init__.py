"""The staff web console: blueprints under /console, Jinja templates, no CDN.

    simulator.py   the phone simulator: chat and take a call as a person, through the same
                   inbound, engine, outbox and ivr conversation as a real phone; nothing leaves
    content.py     modules, activities, flow texts and leadership tips side by side in bn, en
                   and bn-Latn with SMS segments; edits linted, laid over the files, audited
    ui.py          what the templates share: the staff's language, its texts, digits
    templates/console/   base.html, simulator.html, content.html

Every console blueprint is signed in by the console core (`console.auth.require_staff`, a
before_request hook on each blueprint); these modules hold no sign-in code of their own and
read the signed-in staff as `flask.g.staff` (its `.email` is the audit's "who").

May import: anything in bot/ and ivr/ (the simulator takes calls through ivr's conversation).
Nothing in bot/ or ivr/ imports console, except app.py, which registers the blueprints.
"""
