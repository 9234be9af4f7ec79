"""Which language a page speaks: Simplified Chinese unless the tablet chose English.

Templates and page code write English msgids (`_("Pickup desk")`); the
catalogs in edge/locale are read at start and picked per request from the
`linli_lang` cookie. An installed wheel carries them compiled (.mo, made by
hatch_build.py); a checkout has only the .po files, compiled here in memory.
"""

from __future__ import annotations

import gettext
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from jinja2 import pass_context
from jinja2.runtime import Context
from litestar import Request, get
from litestar.params import FromPath
from litestar.response import Redirect

from edge.domain.households import address
from edge.web.shared import local_path

LANG_COOKIE = "linli_lang"
DEFAULT_LOCALE = "zh"
LOCALES = {"zh": "zh_CN", "en": "en"}
LOCALE_DIR = Path(__file__).resolve().parents[2] / "locale"  # edge/locale

_catalogs: dict[str, gettext.NullTranslations] = {}


def load_catalog(locale: str) -> gettext.NullTranslations:
    """The compiled .mo of one locale, or its .po compiled in memory."""
    folder = LOCALE_DIR / LOCALES[locale] / "LC_MESSAGES"
    mo = folder / "messages.mo"
    if mo.exists():
        with mo.open("rb") as fh:
            return Translations(fp=fh)
    po = folder / "messages.po"
    if not po.exists():
        return gettext.NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=LOCALES[locale])
    buf = BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return Translations(fp=buf)


def translations(locale: str) -> gettext.NullTranslations:
    if locale not in _catalogs:
        _catalogs[locale] = load_catalog(locale)
    return _catalogs[locale]


def locale_of(request: Request[Any, Any, Any] | None) -> str:
    if request is None:
        return DEFAULT_LOCALE
    chosen = request.cookies.get(LANG_COOKIE, "")
    return chosen if chosen in LOCALES else DEFAULT_LOCALE


def gettext_for(request: Request[Any, Any, Any] | None) -> Callable[..., str]:
    """`_` for page code: `_("Saved %(code)s", code=c)` in the request's language."""
    catalog = translations(locale_of(request))

    def _(msgid: str, **variables: Any) -> str:
        text = catalog.gettext(msgid)
        return text % variables if variables else text

    return _


@pass_context
def _template_gettext(context: Context, msgid: str) -> str:
    return translations(locale_of(context.get("request"))).gettext(msgid)


@pass_context
def _template_ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return translations(locale_of(context.get("request"))).ngettext(singular, plural, n)


@pass_context
def _address(context: Context, row: Any) -> str:
    """A household's address in the page's language (`{{ order|addr }}`)."""
    if not row or (not row.get("building") and not row.get("unit") and not row.get("room")):
        return ""
    english = locale_of(context.get("request")) == "en"
    return address({k: row.get(k) or "" for k in ("building", "unit", "room")}, english=english)


def configure_templates(engine: Any) -> None:
    """TemplateConfig `engine_callback`: our gettext and the 元/斤 filters in Jinja.

    Idempotent, so pages can also call it on first render if the app did not.
    """
    from edge.web.pages.formats import jin, qty, yuan

    env = engine.engine
    if env.globals.get("_linli_pages"):
        return
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(_template_gettext, _template_ngettext, newstyle=True)
    env.filters.update(yuan=yuan, jin=jin, qty=qty, addr=_address)
    env.globals["_linli_pages"] = True
    for locale in LOCALES:
        translations(locale)  # read the catalogs once, at start


def safe_back(target: str | None) -> str:
    """A same-site path to go back to; anything else (another host, //evil) becomes /."""
    return local_path(target, "/")


@get("/lang/{code:str}", include_in_schema=False, sync_to_thread=False)
def choose_language(request: Request[Any, Any, Any], code: FromPath[str]) -> Redirect:
    """Switch this tablet's language; the choice lives in a cookie for a year."""
    back = safe_back(request.query_params.get("next") or request.headers.get("referer"))
    response = Redirect(path=back, status_code=303)
    if code in LOCALES:
        response.set_cookie(
            LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="lax", httponly=True
        )
    return response
