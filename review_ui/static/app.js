// The review screen's behaviour: boxes over the page images, highlight between boxes and fields, page switch
// and zoom, product search, keyboard shortcuts.  No inline script anywhere (the CSP forbids it); everything
// the server wants to say is in data- attributes.
"use strict";

(function () {
  const body = document.body;
  const page = body.dataset.page;

  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable]") !== null;
  }

  if (page === "queue") {
    document.addEventListener("keydown", (event) => {
      if (typing(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
      if ((event.key === "j" || event.key === "Enter") && body.dataset.first) {
        window.location.href = body.dataset.first;
      }
    });
    return;
  }
  if (page !== "document") return;

  // -- boxes and pages ----------------------------------------------------------------------------------
  const pages = Array.from(document.querySelectorAll(".page"));
  pages.forEach((p) => {
    const w = parseFloat(p.dataset.w), h = parseFloat(p.dataset.h);
    p.style.aspectRatio = `${w} / ${h}`;
    p.querySelectorAll(".box").forEach((box) => {
      const x0 = parseFloat(box.dataset.x0), y0 = parseFloat(box.dataset.y0);
      const x1 = parseFloat(box.dataset.x1), y1 = parseFloat(box.dataset.y1);
      box.style.left = `${(x0 / w) * 100}%`;
      box.style.top = `${(y0 / h) * 100}%`;
      box.style.width = `${Math.max(0.3, ((x1 - x0) / w) * 100)}%`;
      box.style.height = `${Math.max(0.3, ((y1 - y0) / h) * 100)}%`;
    });
  });
  let current = 1;
  function showPage(n) {
    if (n < 1 || n > pages.length) return;
    current = n;
    pages.forEach((p) => { p.hidden = Number(p.dataset.page) !== n; });
    document.getElementById("page-no").textContent = String(n);
  }
  document.getElementById("page-prev").addEventListener("click", () => showPage(current - 1));
  document.getElementById("page-next").addEventListener("click", () => showPage(current + 1));
  let zoom = 100;
  const inner = document.getElementById("viewer-inner");
  function setZoom(z) {
    zoom = Math.min(300, Math.max(50, z));
    inner.style.width = `${zoom}%`;
    document.getElementById("zoom-level").textContent = `${zoom}%`;
  }
  document.getElementById("zoom-in").addEventListener("click", () => setZoom(zoom + 25));
  document.getElementById("zoom-out").addEventListener("click", () => setZoom(zoom - 25));

  // -- highlight: a field or line and its boxes light up together ------------------------------------------
  function light(ref, on) {
    if (!ref) return;
    document.querySelectorAll(`[data-ref="${CSS.escape(ref)}"]`).forEach((el) => el.classList.toggle("hl", on));
    if (on) {
      const box = document.querySelector(`.box[data-ref="${CSS.escape(ref)}"]`);
      if (box) showPage(Number(box.closest(".page").dataset.page));
    }
  }
  function refOf(target) {
    const el = target.closest && target.closest("[data-ref]");
    return el ? el.dataset.ref : null;
  }
  ["mouseover", "focusin"].forEach((type) => document.addEventListener(type, (e) => light(refOf(e.target), true)));
  ["mouseout", "focusout"].forEach((type) => document.addEventListener(type, (e) => light(refOf(e.target), false)));
  document.querySelectorAll(".box").forEach((box) => box.addEventListener("click", () => {
    const input = document.querySelector(`input[data-ref="${CSS.escape(box.dataset.ref)}"]`);
    if (input) input.focus();
  }));
  document.querySelectorAll("a.issue").forEach((a) => a.addEventListener("click", (event) => {
    event.preventDefault();
    const target = document.querySelector(`input[data-ref="${CSS.escape(a.dataset.ref)}"]`);
    if (target) { target.focus(); target.scrollIntoView({block: "center"}); }
  }));

  // -- product search as you type --------------------------------------------------------------------------
  document.querySelectorAll(".product-search").forEach((input) => {
    const select = document.querySelector(`select[name="${CSS.escape(input.dataset.for)}"]`);
    let timer = null, asked = 0;
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const text = input.value.trim();
        if (!text) return;
        const mine = ++asked;
        const answer = await fetch(`/review/products?q=${encodeURIComponent(text)}`, {credentials: "same-origin"});
        if (!answer.ok || mine !== asked) return;
        const items = (await answer.json()).items;
        select.querySelectorAll("option.found").forEach((o) => o.remove());
        items.forEach((item) => {
          const option = document.createElement("option");
          option.value = String(item.id);
          option.className = "found";
          option.textContent = `${item.sku} · ${item.name}`;   // text, never HTML
          select.appendChild(option);
        });
        if (items.length) select.classList.add("has-found");
        select.dataset.found = String(items.length);
      }, 150);
    });
    input.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {   // step through candidates without leaving
        event.preventDefault();
        const options = Array.from(select.options).filter((o) => o.value);
        if (!options.length) return;
        const at = options.findIndex((o) => o.value === select.value);
        const step = event.key === "ArrowDown" ? 1 : -1;
        select.value = options[(at + step + options.length) % options.length].value;
        select.dispatchEvent(new Event("change"));
      } else if (event.key === "Enter" && input.value.trim()) {   // typed: the first result found is the pick
        const first = select.querySelector("option.found");
        if (first) { select.value = first.value; select.dispatchEvent(new Event("change")); }
      }
    });
  });

  // -- attention first: Tab and Enter visit what needs a look, then Confirm -------------------------------
  const form = document.getElementById("review-form");
  const confirmButton = document.getElementById("confirm");
  const attention = Array.from(document.querySelectorAll("[data-attention]"));
  function stepFrom(el, backwards) {
    if (el === confirmButton) return backwards ? attention[attention.length - 1] : null;
    const at = attention.indexOf(el);
    if (at >= 0) return backwards ? attention[at - 1] : (attention[at + 1] || confirmButton);
    if (backwards) return null;
    // not an attention element: the next one after it in the page, else Confirm
    return attention.find((a) => el.compareDocumentPosition(a) & Node.DOCUMENT_POSITION_FOLLOWING) || confirmButton;
  }
  form.addEventListener("keydown", (event) => {
    const el = event.target;
    if (event.ctrlKey || event.metaKey || event.altKey || el.id === "reason") return;   // reason: Enter submits
    let target;
    if (event.key === "Tab" && (attention.includes(el) || (el === confirmButton && event.shiftKey && attention.length))) {
      target = stepFrom(el, event.shiftKey);
    } else if (event.key === "Enter" && el.matches("input, select")) {
      target = stepFrom(el, false);                  // Enter never submits from a field: on to the next one
    } else {
      return;
    }
    if (!target && !pending && event.key === "Tab") return;       // Shift+Tab before the first: the browser's
    event.preventDefault();
    if (pending) {                     // the next value may be the factor the picked product needs
      const from = el, backwards = event.shiftKey && event.key === "Tab";
      pending.then(() => { const next = stepFrom(from, backwards); if (next) next.focus(); });
    } else if (target) {
      target.focus();
    }
  });
  // a product picked: its own factor for the printed unit, asked for where it is not known
  let pending = null;              // a conversion being fetched: Enter and Tab wait for it
  document.querySelectorAll("select.product").forEach((select) => select.addEventListener("change", () => {
    pending = convert(select).finally(() => { pending = null; });
  }));
  async function convert(select) {
    const row = select.closest("tbody.line");
    const factor = row.querySelector("input[name$='.uom_factor']");
    const shown = row.querySelector(".conversion");
    row.classList.add("changed");
    if (!select.value) return;
    const url = `/review/documents/${body.dataset.doc}/lines/${row.dataset.line}/conversion?product_id=${encodeURIComponent(select.value)}`;
    const before = factor.value;
    const answer = await fetch(url, {credentials: "same-origin"});
    if (!answer.ok || factor.value !== before) return;      // typed meanwhile: the person's factor stands
    const found = await answer.json();
    if (factor.value !== before) return;
    factor.value = found.factor || "";
    shown.textContent = found.conversion || "";
    const asked = attention.indexOf(factor);
    if (!found.factor && asked < 0) {            // not known: the factor becomes the next value to fill in
      factor.dataset.attention = "";
      const search = row.querySelector(".product-search");
      const at = attention.indexOf(search);
      attention.splice(at >= 0 ? at + 1 : attention.length, 0, factor);
      row.classList.add("attention");
    } else if (found.factor && asked >= 0) {
      attention.splice(asked, 1);
      delete factor.dataset.attention;
    }
    row.dataset.converted = select.value;
  }
  // the conversion text follows the quantity and factor as they are typed (display only; the server computes)
  document.querySelectorAll("tbody.line").forEach((row) => {
    const shown = row.querySelector(".conversion");
    const inputs = ["quantity", "unit", "uom_factor"].map((k) => row.querySelector(`input[name$='.${k}']`));
    if (!shown || inputs.some((i) => !i)) return;
    const [qty, unit, factor] = inputs;
    const redo = () => {
      const base = shown.textContent.trim().split(" ").pop();
      if (!base) return;
      const q = Number(qty.value), f = Number(factor.value);
      const total = factor.value.trim() && Number.isFinite(q * f) ? String(Number((q * f).toFixed(6))) : "?";
      shown.textContent = `${qty.value} ${unit.value} = ${total} ${base}`;
    };
    inputs.forEach((i) => i.addEventListener("input", redo));
  });

  // from the page itself (nothing focused), Tab and Enter start at the first value that needs attention
  document.addEventListener("keydown", (event) => {
    const onPage = event.target === body || event.target.closest("dialog:not([open])") !== null;  // or left in the closed help
    if (!attention.length || !onPage || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Tab" && !event.shiftKey || event.key === "Enter") {
      event.preventDefault();
      event.stopImmediatePropagation();
      attention[0].focus();
    }
  }, true);

  // -- keyboard ------------------------------------------------------------------------------------------
  const help = document.getElementById("help");
  document.getElementById("help-open").addEventListener("click", () => help.showModal());
  // closed: focus back to the page, so the next key is a shortcut again (not a press of the hidden Close button)
  help.addEventListener("close", () => { if (help.contains(document.activeElement)) document.activeElement.blur(); });
  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey || help.open) return;
    if (event.key === "Escape" && typing(event.target)) { event.target.blur(); return; }   // shortcuts again
    const hidden = event.target.closest("dialog:not([open])") !== null;   // focus left behind in the closed help
    if (!hidden && (typing(event.target) || event.target.closest("button, a"))) return;
    const key = event.key;
    if ((key === "Enter" || key === "c") && confirmButton) {
      event.preventDefault();
      form.requestSubmit(confirmButton);
    } else if (key === "s" && document.getElementById("save")) {
      event.preventDefault();
      form.requestSubmit(document.getElementById("save"));
    } else if ((key === "j" || key === "ArrowRight") && body.dataset.next) {
      window.location.href = body.dataset.next;
    } else if ((key === "k" || key === "ArrowLeft") && body.dataset.prev) {
      window.location.href = body.dataset.prev;
    } else if (key === "?") {
      help.showModal();
    }
  });
})();
