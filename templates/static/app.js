// Small helpers for the tablet pages; everything works without them, just with more typing.
(function () {
  "use strict";
  function onReady(fn) { if (document.readyState !== "loading") fn(); else document.addEventListener("DOMContentLoaded", fn); }

  // +/- buttons beside a quantity: steps of 1 (1 斤 too); the ½ button adds half a 斤.
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest("button.step");
    if (btn) {
      var box = btn.closest(".qty"); var input = box.querySelector("input:not([type=hidden])");
      var step = parseFloat(btn.dataset.step) || 0;
      var v = Math.max(0, (parseFloat(input.value) || 0) + step);
      input.value = v ? String(Math.round(v * 100) / 100) : "";
      box.closest(".product").classList.toggle("chosen", !!input.value);
      input.dispatchEvent(new Event("input", { bubbles: true }));  // the live total follows
      return;
    }
    var key = ev.target.closest(".keypad button");
    if (key) {
      var pin = document.getElementById(key.closest(".keypad").dataset.target);
      var k = key.dataset.key;
      if (k === "clear") pin.value = "";
      else if (k === "back") pin.value = pin.value.slice(0, -1);
      else if (pin.value.length < 8) pin.value += k;
      return;
    }
    if (ev.target.closest("[data-print]")) window.print();
  });

  document.addEventListener("input", function (ev) {
    var t = ev.target;
    if (t.matches(".qty input")) t.closest(".product").classList.toggle("chosen", !!t.value.trim());
    if (t.matches(".product-filter")) {
      var words = t.value.trim().toLowerCase();
      var scope = t.dataset.scope || ".product";
      document.querySelectorAll(scope).forEach(function (el) {
        el.hidden = !!words && (el.dataset.name || "").toLowerCase().indexOf(words) < 0;
      });
    }
  });

  // One tap, one submit: a second tap while the page is loading does nothing.
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.classList.contains("once") || ev.defaultPrevented) return;
    if (form.dataset.sent === "1" && !(ev.submitter && ev.submitter.hasAttribute("hx-post"))) { ev.preventDefault(); return; }
    if (!(ev.submitter && ev.submitter.hasAttribute("hx-post"))) {
      form.dataset.sent = "1";
      setTimeout(function () { form.dataset.sent = ""; }, 8000);
    }
  });

  // "Pay later" opens below the pay button: bring its box and confirm button into view.
  document.addEventListener("toggle", function (ev) {
    var d = ev.target;
    if (d.id === "later" && d.open) d.scrollIntoView({ block: "end", behavior: "instant" });
  }, true);

  onReady(function () {
    var pin = document.getElementById("pin");
    var chosen = document.querySelector("input[name=name]:checked, input[type=text][name=name], input[name=name]:not([type])");
    if (pin && !pin.value && chosen && chosen.value) pin.focus();
  });
})();
