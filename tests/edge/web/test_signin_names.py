"""Sign-in by tapping a name from the centre's staff list, then the PIN (issue 12, item 8)."""

from __future__ import annotations

import re

from centre_world import Centre
from page_forms import csrf, sign_in


def test_the_staff_list_is_tapped_and_forgotten_at_sign_out(centre: Centre) -> None:
    c = centre
    form = c.client.get("/signin").text
    names = re.findall(r'<input type="radio" name="name" value="([^"]+)"', form)
    assert names == ["manager", "staff", "volunteer"]  # managers first
    assert "checked" not in form.split('class="plain staff-pick"')[1].split("</fieldset>")[0]
    assert sign_in(c.client, "staff").status_code == 303
    token = csrf(c.client, "/")
    out = c.client.post("/signout", data={"_csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    assert "linli_last_name" not in c.client.cookies
    again = c.client.get("/signin").text
    assert not re.search(r'value="staff" required checked', again)  # nobody preselected
    assert "autofocus" not in again.split('id="pin"')[1].split(">")[0]


def test_a_name_remembered_without_sign_out_is_preselected(centre: Centre) -> None:
    c = centre
    assert sign_in(c.client, "staff").status_code == 303
    c.client.cookies.delete("linli_session")  # the session ran out; nobody signed out
    form = c.client.get("/signin").text
    assert re.search(r'value="staff" required checked', form)


def test_a_wrong_pin_keeps_the_tapped_name(centre: Centre) -> None:
    c = centre
    r = sign_in(c.client, "volunteer", "9999")
    assert r.status_code == 401
    assert re.search(r'value="volunteer" required checked', r.text)
