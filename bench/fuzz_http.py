"""Fuzz every endpoint of a real centre and a real hub for answers in the 5xx range.

    .venv/bin/python bench/fuzz_http.py [--requests 20000] [--seconds 300] [--seed 1] [--pg]

Starts, on 127.0.0.1, a `linli demo` centre (`linli serve --no-sync`) and a hub on a
SQLite file (with `--pg` also a hub on a temporary PostgreSQL server, started as
tests/pg_server.py does), the centre enrolled on the hub(s). Signs in as the demo's
manager, staff and volunteer (API tokens, and a page session with its CSRF token), the
hub's operator (page session), the co-op (its API token) and the centre (its sync
token). Then sends mutated requests, bounded by `--requests` and `--seconds`:

- every operation of each app's OpenAPI document (`/schema/openapi.json`): a body built
  from its schema, then each field wrong-typed, huge, negative, a 400-digit number,
  NaN/Infinity, empty, missing, unicode junk, lone surrogates, very long, impossible
  dates; whole bodies that are not JSON, bad UTF-8, another content type, duplicated
  keys; path parameters with junk and with ids of another centre; query parameters
  with junk and duplicated;
- every <form> on the pages reachable by links from each app's home page: each field
  mutated, dropped, repeated, as bad bytes;
- `/api/v1/wechat/parse` with word salad made from the catalog and quantity words;
- `/sync/v1/push` with real batches of the centre's change log, mutated.

Prints the number of requests sent per app, every 5xx with its request, and every
traceback in the servers' logs. Exit status 1 when a 5xx or a traceback was seen.
"""

from __future__ import annotations

import argparse
import gzip
import html.parser
import json
import random
import re
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _load import HOST, LINLI, Bench, free_port, wait_ready

# --- junk ------------------------------------------------------------------


class Raw:
    """A JSON token written as is: numbers JSON cannot hold, NaN, Infinity."""

    def __init__(self, text: str) -> None:
        self.text = text


LONG = "长" * 70_000
JUNK: list[Any] = [
    None,
    "",
    " ",
    0,
    -1,
    -(2**63) - 1,
    2**63,
    2**64,
    10**30,
    Raw("9" * 400),
    Raw("-" + "9" * 400),
    Raw("1e400"),
    Raw("NaN"),
    Raw("Infinity"),
    Raw("-Infinity"),
    1.5,
    -0.0,
    1e308,
    True,
    False,
    [],
    {},
    [None],
    {"a": 1},
    "香菜要把",
    "\ud800",
    "a\udfffb",
    "\x00",
    "\u202e\u200b\ufeff",
    "🥬🥬🥬",
    "１２３",
    "二十三",
    "2026-02-30",
    "0001-01-01",
    "9999-12-31",
    "2026-13-01",
    "2026-12-07T25:61:00",
    "24:60",
    "1" * 400,
    "-5",
    "NaN",
    "Infinity",
    "1e999",
    "0x1F",
    "<script>alert(1)</script>",
    "' OR 1=1 --",
    "../../../etc/passwd",
    "%00%2F",
    "{{7*7}}",
    LONG,
]

FORM_JUNK = [
    "",
    " ",
    "-1",
    "0",
    "1" * 400,
    "-" + "9" * 400,
    "9223372036854775808",
    "NaN",
    "Infinity",
    "-Infinity",
    "1e999",
    "1.5",
    "0x10",
    "２",
    "二十",
    "香菜要把",
    "\x00",
    "🥬" * 10,
    "\u202e",
    "2026-02-30",
    "0001-01-01",
    "9999-12-31",
    "12:99",
    "on",
    "true",
    "01ZZZZZZZZZZZZZZZZZZZZZZZZ",
    "../..",
    "长" * 20_000,
]

PATH_JUNK = [
    "0",
    "-1",
    "9" * 400,
    "%00",
    "%ED%A0%80",
    "%FF%FE",
    "香菜",
    "a" * 5000,
    "..%2F..%2Fetc",
    "01ZZZZZZZZZZZZZZZZZZZZZZZZ",
    "NaN",
    "%20",
]

SALAD_WORDS = [
    "要",
    "把",
    "斤",
    "两",
    "个",
    "份",
    "半",
    "一",
    "二",
    "两",
    "三",
    "十",
    "百",
    "千",
    "万",
    "块",
    "元",
    "钱",
    "的",
    "各",
    "再",
    "加",
    "不要",
    "改成",
    "不，",
    "我要",
    "明天",
    "送",
    "取",
    "公斤",
    "克",
    "kg",
    "g",
    "0",
    "1",
    "2.5",
    "999999999999",
    "½",
    "，",
    "。",
    "、",
    "：",
    "\n",
    "@",
    "张阿姨:",
    "[图片]",
    "😊",
    "圆白菜",
    "番茄酱",
    "生财",
    "地蛋",
    "各1",
    "5元5个",
    "10块钱的",
    "一斤半",
    "2斤半",
    "半斤",
    "个半",
    "零",
    "〇",
    "廿",
    "卅",
    "兩",
    "斤斤",
    "的的",
    "-",
    "x",
    "*",
    "×",
]


def dump(value: Any) -> bytes:
    """JSON of `value`, with `Raw` tokens written as they are and lone surrogates kept."""
    raws: list[str] = []

    def sub(v: Any) -> Any:
        if isinstance(v, Raw):
            raws.append(v.text)
            return f"__RAW_{len(raws) - 1}__"
        if isinstance(v, dict):
            return {k: sub(x) for k, x in v.items()}
        if isinstance(v, list):
            return [sub(x) for x in v]
        return v

    text = json.dumps(sub(value), ensure_ascii=True)
    for i, raw in enumerate(raws):
        text = text.replace(f'"__RAW_{i}__"', raw)
    return text.encode()


# --- schema ----------------------------------------------------------------


def resolve(spec: dict[str, Any], node: Any) -> Any:
    seen = 0
    while isinstance(node, dict) and "$ref" in node and seen < 20:
        name = node["$ref"].split("/")[-1]
        node = spec.get("components", {}).get("schemas", {}).get(name, {})
        seen += 1
    return node


def example(
    spec: dict[str, Any], node: Any, ids: dict[str, list[str]], name: str = "", depth: int = 0
) -> Any:
    node = resolve(spec, node)
    if not isinstance(node, dict) or depth > 6:
        return None
    for key in ("oneOf", "anyOf"):
        if key in node:
            options = [resolve(spec, o) for o in node[key]]
            options = [o for o in options if o.get("type") != "null"] or options
            return example(spec, options[0], ids, name, depth + 1)
    if node.get("enum"):
        return node["enum"][0]
    if "const" in node:
        return node["const"]
    kind = node.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind == "object" or "properties" in node:
        props = node.get("properties", {})
        return {k: example(spec, v, ids, k, depth + 1) for k, v in props.items()}
    if kind == "array":
        return [example(spec, node.get("items", {}), ids, name, depth + 1)]
    if kind == "integer":
        return max(int(node.get("minimum", 1)), 1) if "minimum" in node else 1
    if kind == "number":
        return 1
    if kind == "boolean":
        return False
    if kind == "string":
        fmt = node.get("format", "")
        if fmt == "date" or name.endswith("date") or name in ("day", "from", "to"):
            return "2026-12-09"
        if fmt == "date-time":
            return "2026-12-09T10:00:00"
        base = name.removesuffix("_id").removesuffix("_ids")
        for kind_name, values in ids.items():
            if values and (base == kind_name or base + "s" == kind_name or name == "id"):
                return random.choice(values)
        return "x"
    return None


def paths_in(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value one could mutate."""
    out: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        for k, v in value.items():
            out.append((*prefix, k))
            out.extend(paths_in(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.append((*prefix, i))
            out.extend(paths_in(v, (*prefix, i)))
    return out


def set_at(value: Any, where: tuple[Any, ...], new: Any, drop: bool = False) -> Any:
    copy = json.loads(json.dumps(value))
    node = copy
    for step in where[:-1]:
        node = node[step]
    if drop:
        del node[where[-1]]
    else:
        node[where[-1]] = new
    return copy


# --- forms -----------------------------------------------------------------


@dataclass
class Form:
    page: str
    action: str
    method: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    choices: dict[str, list[str]] = field(default_factory=dict)


class PageParser(html.parser.HTMLParser):
    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.forms: list[Form] = []
        self.links: list[str] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        for hx in ("hx-get", "hx-post"):
            if a.get(hx):
                self.links.append(a[hx]) if hx == "hx-get" else None
        if tag == "form":
            self._form = Form(
                self.page, a.get("action") or self.page, (a.get("method") or "get").upper()
            )
            self.forms.append(self._form)
        form = self._form
        if form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                form.choices.setdefault(name, []).append(a.get("value", "on"))
                if "checked" in a or kind == "checkbox":
                    form.fields.append((name, a.get("value", "on")))
            elif kind not in ("submit", "button", "image", "reset", "file"):
                form.fields.append((name, a.get("value", "")))
        elif tag == "button" and name:
            form.fields.append((name, a.get("value", "")))
        elif tag == "select" and name:
            self._select = name
            form.fields.append((name, ""))
        elif tag == "option" and self._select:
            value = a.get("value", "")
            form.choices.setdefault(self._select, []).append(value)
            fields = form.fields
            if (
                fields
                and fields[-1][0] == self._select
                and (fields[-1][1] == "" or "selected" in a)
            ):
                fields[-1] = (self._select, value)
        elif tag == "textarea" and name:
            self._textarea = name
            form.fields.append((name, ""))

    def handle_data(self, data: str) -> None:
        if self._textarea and self._form and self._form.fields:
            name, value = self._form.fields[-1]
            self._form.fields[-1] = (name, value + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


# --- the run ---------------------------------------------------------------


@dataclass
class Finding:
    status: int
    method: str
    url: str
    headers: dict[str, str]
    body: bytes
    answer: str


class Fuzzer:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.deadline = time.monotonic() + args.seconds
        self.sent: Counter[str] = Counter()
        self.statuses: Counter[str] = Counter()
        self.found: list[Finding] = []
        self.seen: set[tuple[str, str, int]] = set()

    def left(self) -> bool:
        return sum(self.sent.values()) < self.args.requests and time.monotonic() < self.deadline

    def send(
        self,
        app: str,
        client: httpx.Client,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        data: Any = None,
    ) -> httpx.Response | None:
        if not self.left():
            return None
        grouped: dict[str, list[str]] = {}
        if len(url) > 60_000:  # past what httpx sends (and any browser)
            url = url[:60_000]
        self.sent[app] += 1
        try:
            if data is not None:
                for k, v in data:
                    grouped.setdefault(k, []).append(v)
                answer = client.request(method, url, data=grouped, headers=headers)
            else:
                answer = client.request(method, url, content=content, headers=headers)
        except httpx.RemoteProtocolError:
            # The server closed a keep-alive connection as it idled (uvicorn's 5 s): the
            # client's race, not an answer. Once more on a fresh connection.
            try:
                answer = (
                    client.request(method, url, content=content, headers=headers)
                    if data is None
                    else client.request(method, url, data=grouped, headers=headers)
                )
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                self.found.append(Finding(0, method, url, headers or {}, content or b"", repr(exc)))
                return None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            self.found.append(Finding(0, method, url, headers or {}, content or b"", repr(exc)))
            return None
        self.statuses[f"{app} {answer.status_code // 100}xx"] += 1
        if answer.status_code >= 500:
            req = answer.request
            body = req.content if hasattr(req, "content") else b""
            key = (method, urlsplit(url).path, answer.status_code)
            self.found.append(
                Finding(
                    answer.status_code, method, url, dict(headers or {}), body, answer.text[:300]
                )
            )
            self.seen.add(key)
        return answer


def start(bench: Bench, args: list[str], port: int, name: str) -> None:
    proc = bench.start_server(
        [LINLI, "serve", *args, "--host", HOST, "--port", str(port), "--log-level", "info"],
        log_name=name,
    )
    wait_ready(port, proc, timeout=60)


def run(cmd: list[str]) -> str:
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def grab(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    if not found:
        raise RuntimeError(f"no {pattern!r} in {text!r}")
    return found.group(1)


CSRF_RE = re.compile(r'name="_csrf_token" value="([^"]+)"')


def csrf_of(client: httpx.Client, path: str) -> str:
    found = CSRF_RE.search(client.get(path).text)
    return found.group(1) if found else ""


@dataclass
class App:
    name: str
    base: str
    api: httpx.Client  # bearer client
    pages: httpx.Client | None  # signed-in page session
    others: list[httpx.Client]  # other roles' bearer clients
    log: str
    signin: tuple[str, dict[str, str]] | None = None  # to sign the page session in again


def fuzz_openapi(fz: Fuzzer, app: App, ids: dict[str, list[str]], foreign: dict[str, str]) -> None:
    spec = app.api.get("/schema/openapi.json").json()
    ops = [
        (path, method.upper(), op)
        for path, item in spec.get("paths", {}).items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]
    random.shuffle(ops)
    print(f"{app.name}: {len(ops)} operations in the OpenAPI document", flush=True)
    budget_each = max(1, fz.args.requests // 3 // max(len(ops), 1))
    for path, method, op in ops:
        if not fz.left():
            return
        if any(s in path for s in ("/auth/", "signout", "logout")) and method != "GET":
            clients = [app.api]
        else:
            clients = [app.api, *app.others]
        params = [resolve(spec, p) for p in op.get("parameters", [])]
        path_params = [p["name"] for p in params if p.get("in") == "path"]
        query = [p for p in params if p.get("in") == "query"]
        body_schema = (
            op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        )
        sent = 0

        def fill(values: dict[str, str], path: str = path, names: list[str] = path_params) -> str:
            url = path
            for k in names:
                url = url.replace("{" + k + "}", values.get(k, "x"))
            return url

        def real(k: str) -> str:
            base = k.removesuffix("_id")
            for kind_name, values in ids.items():
                if values and base in (kind_name, kind_name.rstrip("s")):
                    return random.choice(values)
            pool = [v for vs in ids.values() for v in vs]
            return random.choice(pool) if pool else "x"

        good_path = {k: real(k) for k in path_params}
        base_body = example(spec, body_schema, ids) if body_schema else None
        cases: list[tuple[str, str, bytes | None, dict[str, str]]] = []
        jh = {"content-type": "application/json"}
        content = dump(base_body) if base_body is not None else None
        cases.append((fill(good_path), "", content, jh))
        for k in path_params:
            for junk in PATH_JUNK + list(foreign.values()):
                cases.append((fill({**good_path, k: junk}), "", content, jh))
        for q in query:
            qn = q["name"]
            for junk in FORM_JUNK:
                cases.append((fill(good_path), f"?{qn}={quote(junk[:3000])}", content, jh))
            cases.append((fill(good_path), f"?{qn}=1&{qn}=2&{qn}=", content, jh))
            cases.append((fill(good_path), f"?{qn}", content, jh))
        if body_schema is not None:
            for where in paths_in(base_body):
                cases.append(
                    (fill(good_path), "", dump(set_at(base_body, where, None, drop=True)), jh)
                )
                for junk in random.sample(JUNK, min(len(JUNK), fz.args.junk_per_field)):
                    cases.append((fill(good_path), "", dump(set_at(base_body, where, junk)), jh))
            if isinstance(base_body, dict) and base_body:
                k = next(iter(base_body))
                cases.append(
                    (fill(good_path), "", b'{"%s":1,"%s":"x"}' % (k.encode(), k.encode()), jh)
                )
                cases.append((fill(good_path), "", dump({**base_body, "unknown_field": 1}), jh))
        for raw, hdrs in [
            (b"", jh),
            (b"null", jh),
            (b"[]", jh),
            (b"{", jh),
            (b'"\xed\xa0\x80"', jh),
            (b"\xff\xfe{}", jh),
            (b"[" * 50_000, jh),
            (b'{"a":' * 5000, jh),
            (b"a=1&b=2", {"content-type": "application/x-www-form-urlencoded"}),
            (b"hello", {"content-type": "text/plain"}),
            (content or b"{}", {"content-type": "application/json; charset=latin-1"}),
            (content or b"{}", {"content-type": "multipart/form-data; boundary=x"}),
            (content or b"{}", {"content-type": "application/json", "content-encoding": "gzip"}),
            (
                gzip.compress(content or b"{}"),
                {"content-type": "application/json", "content-encoding": "gzip"},
            ),
            (b"{}" + b" " * 300_000, jh),
        ]:
            cases.append((fill(good_path), "", raw, hdrs))
        random.shuffle(cases)
        for url, qs, body, hdrs in cases[: max(budget_each, 60)]:
            client = random.choice(clients)
            fz.send(app.name, client, method, url + qs, content=body, headers=hdrs)
            sent += 1


def crawl(fz: Fuzzer, app: App, start_paths: list[str], limit: int = 120) -> list[Form]:
    assert app.pages is not None
    queue = list(start_paths)
    seen: set[str] = set()
    forms: list[Form] = []
    per_shape: Counter[str] = Counter()
    while queue and len(seen) < limit and fz.left():
        path = queue.pop(0)
        shape = re.sub(r"[0-9A-HJKMNP-TV-Z]{26}", "{id}", urlsplit(path).path)
        if path in seen or per_shape[shape] >= 2:
            continue
        seen.add(path)
        per_shape[shape] += 1
        answer = fz.send(app.name, app.pages, "GET", path)
        if answer is None or "html" not in answer.headers.get("content-type", ""):
            continue
        parser = PageParser(path)
        try:
            parser.feed(answer.text)
        except Exception:  # noqa: BLE001 - a page our parser cannot read is skipped
            continue
        forms.extend(parser.forms)
        for link in parser.links:
            full = urljoin(app.base + path, link)
            parts = urlsplit(full)
            if parts.netloc != urlsplit(app.base).netloc:
                continue
            local = parts.path + (f"?{parts.query}" if parts.query else "")
            if any(s in local for s in ("signout", "logout", "/lang/", ".csv", "/static/")):
                continue
            if local not in seen:
                queue.append(local)
    print(f"{app.name}: crawled {len(seen)} pages, {len(forms)} forms", flush=True)
    return forms


def fuzz_forms(fz: Fuzzer, app: App, forms: list[Form]) -> None:
    assert app.pages is not None
    by_shape: dict[tuple[str, str, tuple[str, ...]], Form] = {}
    for form in forms:
        action = urlsplit(form.action).path
        if any(s in action for s in ("signout", "logout", "/lang/")):
            continue
        key = (
            form.method,
            re.sub(r"[0-9A-HJKMNP-TV-Z]{26}", "{id}", action),
            tuple(sorted(n for n, _ in form.fields)),
        )
        by_shape.setdefault(key, form)
    shapes = list(by_shape.values())
    random.shuffle(shapes)
    print(f"{app.name}: {len(shapes)} distinct forms", flush=True)
    budget_each = max(20, fz.args.requests // 3 // max(len(shapes), 1))
    for form in shapes:
        if not fz.left():
            return
        token = csrf_of(app.pages, form.page)
        names = [n for n, _ in form.fields if n != "_csrf_token"]
        base = [(n, token if n == "_csrf_token" else v) for n, v in form.fields]
        cases: list[Any] = [base]
        for n in names:
            cases.append([(k, v) for k, v in base if k != n])
            cases.append([*base, (n, random.choice(FORM_JUNK))])
            for junk in FORM_JUNK:
                cases.append([(k, junk if k == n else v) for k, v in base])
            cases.append([(k, salad(names_for_salad) if k == n else v) for k, v in base])
            for choice in form.choices.get(n, []):
                cases.append([(k, choice if k == n else v) for k, v in base])
        random.shuffle(cases)
        cases = [base, *cases[: budget_each - 3]]
        raw_bad = "&".join(
            f"{k}=%ED%A0%80%FF" if k != "_csrf_token" else f"{k}={v}" for k, v in base
        ).encode()
        action = urlsplit(urljoin(app.base + form.page, form.action))
        url = action.path + (f"?{action.query}" if action.query else "")
        hdrs = {"referer": app.base + form.page}
        for case in cases:
            if form.method == "GET":
                query = httpx.QueryParams(case)
                answer = fz.send(app.name, app.pages, "GET", f"{action.path}?{query}", headers=hdrs)
            else:
                answer = fz.send(app.name, app.pages, "POST", url, data=case, headers=hdrs)
            if (
                answer is not None
                and answer.status_code in (302, 303)
                and (
                    "signin" in answer.headers.get("location", "")
                    or "login" in answer.headers.get("location", "")
                )
            ):
                sign_in_again(app)
                token = csrf_of(app.pages, form.page)
                base = [(n, token if n == "_csrf_token" else v) for n, v in form.fields]
        if form.method == "POST":
            fz.send(
                app.name,
                app.pages,
                "POST",
                url,
                content=raw_bad,
                headers={**hdrs, "content-type": "application/x-www-form-urlencoded"},
            )
            fz.send(
                app.name,
                app.pages,
                "POST",
                url,
                content=b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n',
                headers={**hdrs, "content-type": "multipart/form-data; boundary=x"},
            )


def sign_in_again(app: App) -> None:
    if app.pages is None or app.signin is None:
        return
    path, data = app.signin
    token = csrf_of(app.pages, path)
    app.pages.post(path, data={**data, "_csrf_token": token})


names_for_salad: list[str] = []


def salad(names: list[str]) -> str:
    """Word salad from the catalog's names and the words of a WeChat order."""
    words = SALAD_WORDS + names
    return "".join(random.choice(words) for _ in range(random.randint(1, 14)))


def fuzz_salad(fz: Fuzzer, app: App, names: list[str], count: int) -> None:
    for i in range(count):
        if not fz.left():
            return
        text = salad(names)
        if i % 4 == 3:  # a pasted stretch of chat: several senders, several lines
            text = "\n".join(f"{salad(names)[:6]}: {salad(names)}" for _ in range(4))
        fz.send(
            app.name,
            app.api,
            "POST",
            "/api/v1/wechat/parse",
            content=dump({"text": text}),
            headers={"content-type": "application/json"},
        )


def fuzz_push(fz: Fuzzer, hub: App, db: Path, site_id: str, install_id: str, count: int) -> None:
    conn = sqlite3.connect(db)
    rows = conn.execute(
        "SELECT seq, hlc, tbl, row_id, op, fields FROM changes WHERE site_id = ? ORDER BY seq",
        (site_id,),
    ).fetchall()
    conn.close()
    changes = [[s, h, t, r, o, json.loads(f)] for s, h, t, r, o, f in rows]

    def batch(chs: list[Any], from_seq: int = 1) -> dict[str, Any]:
        return {
            "schema_version": 3,
            "site_id": site_id,
            "install_id": install_id,
            "from_seq": from_seq,
            "wall_ms": int(time.time() * 1000),
            "waiting": 0,
            "changes": chs,
        }

    hdrs = {"content-type": "application/json", "content-encoding": "gzip"}
    position = 0
    for i in range(count):
        if not fz.left():
            return
        if i % 5 == 0:
            answer = fz.send(hub.name, hub.api, "GET", "/sync/v1/position")
            if answer is not None and answer.status_code == 200:
                position = int(answer.json().get("position") or 0)
        k = random.randint(1, min(len(changes), 40))
        start_at = random.randint(0, max(len(changes) - k, 0))
        chs = json.loads(json.dumps(changes[start_at : start_at + k]))
        # Numbered after what the hub holds, so a change is new to it (not a divergence).
        for n, ch in enumerate(chs):
            ch[0] = position + 1 + n
        doc = batch(chs, position + 1)
        where = random.choice(paths_in(doc))
        roll = random.random()
        if roll < 0.15:
            doc = set_at(doc, where, None, drop=True)
        elif roll < 0.9:
            doc = set_at(doc, where, random.choice(JUNK))
        raw = dump(doc)
        if i % 3 == 0:
            version = random.choice([1, 2, 3, 4])
            raw = raw.replace(b'"schema_version": 3', b'"schema_version": %d' % version)
        fz.send(
            hub.name, hub.api, "POST", "/sync/v1/push", content=gzip.compress(raw), headers=hdrs
        )
    for query in (
        "after=-1",
        "after=" + "9" * 400,
        "limit=0&limit=9",
        "after_hlc=NaN",
        "after=1e3",
        "limit=-5",
    ):
        for path in ("/sync/v1/pull", "/sync/v1/history", "/sync/v1/position"):
            fz.send(hub.name, hub.api, "GET", f"{path}?{query}")
    for raw in (b"", b"[]", b'{"commands": [null]}', b'{"commands": [{"id": 5}]}', b"\xff"):
        fz.send(hub.name, hub.api, "POST", "/sync/v1/commands/returned", content=raw)


def collect_ids(centre: App) -> dict[str, list[str]]:
    ids: dict[str, list[str]] = {}
    for kind, path in (
        ("products", "/api/v1/products"),
        ("households", "/api/v1/households?q=张"),
        ("orders", "/api/v1/orders"),
    ):
        try:
            doc = centre.api.get(path).json()
        except Exception:  # noqa: BLE001
            continue
        items = doc if isinstance(doc, list) else doc.get("items", doc.get(kind, []))
        ids[kind] = [x["id"] for x in items if isinstance(x, dict) and "id" in x][:20]
    orders = ids.get("orders", [])
    items: list[str] = []
    for oid in orders[:5]:
        doc = centre.api.get(f"/api/v1/orders/{oid}").json()
        items.extend(i["id"] for i in doc.get("items", []))
    ids["items"] = items
    return ids


def tracebacks(bench: Bench, name: str) -> list[str]:
    path = bench.tmp / f"{name}.log"
    if not path.exists():
        return []
    text = path.read_text(errors="replace")
    out: list[str] = []
    block: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("Traceback (most recent call last):"):
            block = [line]
        elif block is not None:
            block.append(line)
            if line and not line[0].isspace():  # the exception itself ends the block
                if not line.startswith(("During handling", "The above exception")):
                    out.append("\n".join(block[-14:]))
                    block = None
    # A diverged centre is logged as an error on purpose (an operator must act).
    errors = [
        line
        for line in text.splitlines()
        if (" ERROR" in line or line.startswith("ERROR")) and " diverged: " not in line
    ]
    return out or errors


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--junk-per-field", type=int, default=12)
    parser.add_argument("--pg", action="store_true", help="also a hub on PostgreSQL")
    args = parser.parse_args()
    random.seed(args.seed)
    fz = Fuzzer(args)
    with Bench("fuzz") as bench:
        tmp = bench.tmp
        centre_db, hub_db = tmp / "centre.db", tmp / "hub.db"
        demo = run([LINLI, "demo", "--db", str(centre_db)])
        manager_token = grab(r"API token for \S+: (\S+)", demo)
        conn = sqlite3.connect(centre_db)
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        conn.close()
        site_id, install_id = meta["site_id"], meta.get("install_id", "")
        enrol = run(
            [
                LINLI,
                "hub",
                "add-centre",
                "--db",
                str(hub_db),
                "--name",
                "金沙路社区",
                "--site-id",
                site_id,
            ]
        )
        centre_token = grab(r"token: (\S+)", enrol)
        other = run([LINLI, "hub", "add-centre", "--db", str(hub_db), "--name", "别的社区"])
        other_site = grab(r"site id: (\S+)", other)
        for name, role in (("老周", ["--role", "supervisor"]), ("小周", [])):
            add = [LINLI, "hub", "add-operator", "--db", str(hub_db), "--name", name]
            run([*add, "--password", "fuzz-pass-1234", *role])
        supplier_token = grab(
            r"token: (\S+)",
            run([LINLI, "hub", "add-supplier", "--db", str(hub_db), "--name", "合作社"]),
        )
        hub_port, centre_port = free_port(), free_port()
        start(bench, ["--role", "hub", "--db", str(hub_db)], hub_port, "hub")
        run(
            [
                LINLI,
                "centre",
                "join",
                "--db",
                str(centre_db),
                "--hub",
                f"http://{HOST}:{hub_port}",
                "--token",
                centre_token,
            ]
        )
        # One real sync, so the hub holds the centre's rows (ids to aim at) before the fuzz.
        subprocess.run(
            [LINLI, "sync", "--once", "--db", str(centre_db)], capture_output=True, timeout=120
        )
        start(
            bench, ["--role", "centre", "--db", str(centre_db), "--no-sync"], centre_port, "centre"
        )
        pg_port = free_port()
        if args.pg:
            # The same hub moved into PostgreSQL (`linli hub migrate`, from a copy: the
            # SQLite hub keeps serving), a temporary server as tests/pg_server.py starts it.
            sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
            from pg_server import start_server as start_pg

            pg = start_pg()
            bench_stop = bench.__exit__

            def stop_all(*exc: object) -> None:
                try:
                    bench_stop(*exc)
                finally:
                    pg.stop()

            bench.__exit__ = stop_all  # type: ignore[method-assign]
            copy = tmp / "hub-copy.db"
            with sqlite3.connect(hub_db) as src, sqlite3.connect(copy) as dst:
                src.backup(dst)
            url = pg.url("postgres").replace("/postgres?", "/linli_fuzz?")
            import psycopg

            with psycopg.connect(pg.url(), autocommit=True) as conn:
                conn.execute("CREATE DATABASE linli_fuzz")
            run([LINLI, "hub", "migrate", "--from", str(copy), "--to", url])
            start(bench, ["--role", "hub", "--db", url], pg_port, "hub-pg")

        cbase, hbase = f"http://{HOST}:{centre_port}", f"http://{HOST}:{hub_port}"
        timeout = httpx.Timeout(30.0)

        def bearer(base: str, token: str) -> httpx.Client:
            return httpx.Client(
                base_url=base, headers={"authorization": f"Bearer {token}"}, timeout=timeout
            )

        others = []
        for name, pin in (("王姐", "2345"), ("小李", "3456")):
            answer = httpx.post(f"{cbase}/api/v1/auth/token", json={"name": name, "pin": pin})
            others.append(bearer(cbase, answer.json()["token"]))
        cpages = httpx.Client(base_url=cbase, timeout=timeout)
        signin = ("/signin", {"name": "小玮", "pin": "1234"})
        centre = App(
            "centre", cbase, bearer(cbase, manager_token), cpages, others, "centre", signin
        )
        sign_in_again(centre)
        hpages = httpx.Client(base_url=hbase, timeout=timeout)
        hsignin = ("/hub/login", {"name": "老周", "password": "fuzz-pass-1234"})
        hub = App(
            "hub",
            hbase,
            bearer(hbase, centre_token),
            hpages,
            [bearer(hbase, supplier_token)],
            "hub",
            hsignin,
        )
        sign_in_again(hub)
        hubs = [hub]
        if args.pg:
            pbase = f"http://{HOST}:{pg_port}"
            hubs.append(
                App(
                    "hub-pg",
                    pbase,
                    bearer(pbase, centre_token),
                    httpx.Client(base_url=pbase, timeout=timeout),
                    [bearer(pbase, supplier_token)],
                    "hub-pg",
                    hsignin,
                )
            )
            sign_in_again(hubs[1])

        ids = collect_ids(centre)
        names = [p["name"] for p in centre.api.get("/api/v1/products").json()][:40]
        names_for_salad.extend(names)
        foreign = {"other_centre": other_site, "other_centre_row": "01" + "Z" * 24}
        print(f"ids: {', '.join(f'{k} {len(v)}' for k, v in ids.items())}", flush=True)

        fuzz_salad(fz, centre, names, args.requests // 10)
        for h in hubs:
            fuzz_push(fz, h, centre_db, site_id, install_id, args.requests // 10 // len(hubs))
        forms = crawl(
            fz,
            centre,
            [
                "/",
                "/orders",
                "/desk",
                "/walkin",
                "/catalog",
                "/calendar",
                "/wechat",
                "/care",
                "/supply/order",
            ],
        )
        fuzz_forms(fz, centre, forms)
        for h in hubs:
            hforms = crawl(
                fz, h, ["/hub", "/hub/orders", "/hub/sync", "/hub/catalog", "/hub/commands"]
            )
            fuzz_forms(fz, h, hforms)
        fuzz_openapi(fz, centre, ids, foreign)
        for h in hubs:
            fuzz_openapi(fz, h, ids, foreign)
        # Whatever budget is left: more word salad.
        fuzz_salad(fz, centre, names, args.requests)

        print(
            f"\nrequests sent: {sum(fz.sent.values())} "
            f"({', '.join(f'{k} {v}' for k, v in fz.sent.items())})"
        )
        print("answers: " + ", ".join(f"{k} {v}" for k, v in sorted(fz.statuses.items())))
        print(f"5xx or failed requests: {len(fz.found)}")
        for f in fz.found:
            body = f.body[:300].decode("utf-8", "backslashreplace")
            print(
                f"  {f.status} {f.method} {f.url[:200]} headers={f.headers} body={body!r}\n"
                f"     -> {f.answer[:200]!r}"
            )
        bad_logs = 0
        for name in ["centre"] + [h.log for h in hubs]:
            found = tracebacks(bench, name)
            bad_logs += len(found)
            print(f"{name} log: {len(found)} tracebacks/errors")
            for t in found[:10]:
                print("   " + t.replace("\n", "\n   ")[-1500:])
        return 1 if fz.found or bad_logs else 0


if __name__ == "__main__":
    sys.exit(main())
