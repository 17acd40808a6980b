"""The application factory: configuration, database, languages, blueprints and error pages."""
from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from . import db as database
from . import erasures, i18n, jobs, logsafe, retention, security
from .cookies import VerifiedCookieSessions
from .settings import from_environment


SQLITE_MAX_INTEGER = 2**63 - 1


class SqliteInteger(IntegerConverter):
    """An `<int:...>` part of an address that SQLite can hold: a bigger number is no such page (404), not an OverflowError (500)."""

    def __init__(self, url_map, *args, **kwargs) -> None:
        """Cap the number at SQLite's largest integer unless a route sets its own maximum."""
        kwargs.setdefault("max", SQLITE_MAX_INTEGER)
        super().__init__(url_map, *args, **kwargs)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build a Chorus app from defaults, environment variables and `test_config`, in that order."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.update(from_environment())
    app.config.update(
        MAX_CONTENT_LENGTH=1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="chorus",
        PERMANENT_SESSION_LIFETIME=timedelta(days=30),
        TEMPLATES_AUTO_RELOAD=False,
    )
    if test_config:
        app.config.update(test_config)
    if not app.config.get("DATABASE"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["DATABASE"] = str(Path(app.instance_path) / "chorus.db")
    app.config["DATABASE"] = str(app.config["DATABASE"])
    app.url_map.converters["int"] = SqliteInteger
    app.session_interface = VerifiedCookieSessions()
    database.ensure_folder(app.config["DATABASE"])

    database.init_app(app)
    i18n.init_app(app)
    register_blueprints(app)
    register_error_pages(app)
    security.init_app(app)
    retention.init_app(app)
    erasures.init_app(app)
    logsafe.init_app(app)
    jobs.init_app(app)
    register_job_kinds()
    logging.getLogger("chorus").setLevel(logging.INFO)
    return app


def register_blueprints(app: Flask) -> None:
    """Register one blueprint per audience: residents, facilitators (and their planners)."""
    # Each staff module adds its routes to the one staff blueprint when imported.
    from facilitation import answers, entry, imports, jobs as job_pages, live, preview, sessions, signin, statements, tables, users, withdrawals  # noqa: F401
    from facilitation.blueprint import bp as facilitation_bp

    from .views import bp as listening_bp

    app.register_blueprint(listening_bp)
    app.register_blueprint(facilitation_bp, url_prefix="/staff")
    from analysis.review.views import bp as review_bp
    from analysis.review.views import results_bp

    app.register_blueprint(review_bp, url_prefix="/staff/review")
    # Phones pick the next statement of a react question with the engine's scoring; the residents'
    # package may not import the engine, so the composition root hands it over.
    # It reads the per-statement counts the triggers keep (m042) and the groups the screens had stored (m043).
    from facilitation.opinion_live import choose_next_stored

    app.extensions["chorus.next_statement"] = choose_next_stored
    # A resident's statement reaches the other phones through the session's one redaction (the engine's).
    from analysis.review.queries import session_redaction

    app.extensions["chorus.redaction"] = session_redaction
    app.register_blueprint(results_bp)
    from analysis.review.campaigns import bp as campaigns_bp
    from analysis.review.campaigns import public_bp as campaign_public_bp

    app.register_blueprint(campaigns_bp, url_prefix="/staff/campaigns")
    app.register_blueprint(campaign_public_bp)


def register_job_kinds() -> None:
    """Tell the job queue what each kind of background job does (listening may not import the engine)."""
    from analysis.review import jobs as review_jobs
    from facilitation import live_jobs, opinion_live

    jobs.register("themes", review_jobs.run_themes_job)
    jobs.on_interrupt("themes", review_jobs.themes_interrupted)
    jobs.register("export", review_jobs.export_job)
    jobs.register("live_themes", live_jobs.live_themes_job)
    # A react question's opinion groups for the staff screens, asked for by them (no jobs row: facilitation.opinion_live).
    jobs.register_quiet("opinion_groups", opinion_live.opinion_groups_task)
    jobs.register("campaign_themes", review_jobs.campaign_themes_job)
    jobs.register("campaign_export", review_jobs.campaign_export_job)
    jobs.register("campaign_heard", review_jobs.campaign_heard_job)


def register_error_pages(app: Flask) -> None:
    """Answer every error with a translated page, never a stack trace."""

    messages = {
        400: lambda: _("Something in that request was not right. Please go back and try again."),
        403: lambda: _("You do not have permission to see this page."),
        404: lambda: _("We could not find that page."),
        405: lambda: _("That action is not possible here."),
        409: lambda: _("That could not be done because something changed. Please try again."),
        413: lambda: _("That was too much to send at once. Please send less."),
        429: lambda: _("Too many tries. Please wait a minute and try again."),
        500: lambda: _("Something went wrong on our side. Please try again."),
    }

    def render_error(error: Exception):
        """Render a plain, translated error page with the right status code."""
        code = error.code if isinstance(error, HTTPException) and error.code else 500
        if isinstance(error, OverflowError):
            # A posted id bigger than SQLite's integers (a forged form: ours send real ids) reached a query:
            # the request was wrong, nothing failed on our side.
            code = 400
        if code == 500:
            # The message of an exception can quote an answer or contact details: log its type and stack only.
            app.logger.error("Unhandled error on %s %s\n%s", request.method, request.path[:200],
                             logsafe.safe_traceback(error))
        message = messages.get(code, messages[500])()
        return render_template("listening/error.html", code=code, message=message), code

    app.register_error_handler(HTTPException, render_error)
    app.register_error_handler(Exception, render_error)
