// The review screen's behaviour: boxes over the page images, highlight between boxes and fields, page switch
// and zoom, product search, keyboard shortcuts, click to pick (a word on the page fills the focused field).  No
// inline script anywhere (the CSP forbids it); everything the server wants to say is in data- attributes.
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
    const input = document.querySelector(`input[data-ref="${CSS.escape(box.dataset.ref)}"], textarea[data-ref="${CSS.escape(box.dataset.ref)}"]`);
    if (input) input.focus();
  }));
  document.querySelectorAll("a.issue").forEach((a) => a.addEventListener("click", (event) => {
    event.preventDefault();
    const target = document.querySelector(`input[data-ref="${CSS.escape(a.dataset.ref)}"], textarea[data-ref="${CSS.escape(a.dataset.ref)}"]`);
    if (target) { target.focus(); target.scrollIntoView({block: "center"}); }
  }));

  // -- product search as you type --------------------------------------------------------------------------
  // A visible list under the search box (role=listbox): ↑/↓ move, Enter or a click picks, Esc closes.  The
  // picked product becomes the line's choice in the select beside it (its conversion fetched as for any pick);
  // the results are also offered in that select.  `window.inboundListbox` is the same list for lines.js (the
  // new line's product chooser, the supplier search).
  function listbox(input, list, {items, pick, render}) {
    let shown = [], at = -1, asked = 0, timer = null;
    const show = (found) => {
      shown = found;
      at = found.length ? 0 : -1;
      list.replaceChildren(...found.map((item, i) => {
        const li = document.createElement("li");
        li.id = `${list.id}-${i}`;
        li.setAttribute("role", "option");
        render(li, item);                         // text, never HTML
        li.addEventListener("mousedown", (event) => { event.preventDefault(); choose(i); });
        return li;
      }));
      list.hidden = !found.length;
      input.setAttribute("aria-expanded", String(!list.hidden));
      mark();
    };
    const mark = () => {
      Array.from(list.children).forEach((li, i) => {
        li.classList.toggle("active", i === at);
        li.setAttribute("aria-selected", String(i === at));
      });
      if (at >= 0) {
        input.setAttribute("aria-activedescendant", `${list.id}-${at}`);
        list.children[at].scrollIntoView({block: "nearest"});
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    };
    const close = () => { asked++; show([]); };
    const choose = (i) => { const item = shown[i]; close(); if (item) pick(item); };
    const refresh = async () => {
      const mine = ++asked;
      const found = await items(input.value.trim());
      if (mine === asked && document.activeElement === input) show(found);
    };
    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(refresh, 120); });
    input.addEventListener("blur", close);
    return {
      refresh, close,
      get open() { return !list.hidden && shown.length > 0; },
      key(event) {                          // true: the list took the key
        if (list.hidden || !shown.length) return false;
        if (event.key === "ArrowDown" || event.key === "ArrowUp") {
          at = (at + (event.key === "ArrowDown" ? 1 : -1) + shown.length) % shown.length;
          mark();
        } else if (event.key === "Enter") {
          choose(at);
        } else if (event.key === "Escape") {
          close();
          event.stopPropagation();          // the field keeps focus
        } else {
          return false;
        }
        event.preventDefault();
        return true;
      },
    };
  }
  window.inboundListbox = listbox;
  const productText = (li, item) => {
    const code = document.createElement("b");
    code.textContent = item.sku;
    li.append(code, ` ${item.name}`);
    if (item.note) {
      const note = document.createElement("small");
      note.textContent = ` ${item.note}`;
      li.append(note);
    }
  };
  window.inboundProductText = productText;
  document.querySelectorAll(".product-search").forEach((input) => {
    const select = document.querySelector(`select[name="${CSS.escape(input.dataset.for)}"]`);
    const list = input.parentElement.querySelector(".listbox");
    const offer = (items) => {            // the results in the select too, for a pick with the mouse there
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
    };
    const choose = (item) => {
      let option = Array.from(select.options).find((o) => o.value === String(item.id));
      if (!option) {
        option = document.createElement("option");
        option.value = String(item.id);
        option.className = "found";
        option.textContent = `${item.sku} · ${item.name}`;
        select.appendChild(option);
      }
      select.value = option.value;
      input.value = "";
      select.dispatchEvent(new Event("change"));
    };
    const found = list ? listbox(input, list, {
      render: productText, pick: choose,
      items: async (text) => {
        if (!text) return [];
        const answer = await fetch(`/review/products?q=${encodeURIComponent(text)}`, {credentials: "same-origin"});
        if (!answer.ok) return [];
        const items = (await answer.json()).items;
        offer(items);
        return items;
      },
    }) : null;
    input.addEventListener("keydown", (event) => {
      if (found && found.key(event)) return;      // the list open: ↑/↓/Enter/Esc are its (Enter then moves on)
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
    } else if (event.key === "Enter" && el.matches("input, select, textarea")) {
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

  // -- click to pick: with a field focused, a word on the page (or words dragged over) fills it -----------
  // The words come from /review/documents/{id}/words (page points of the page as received, the boxes' unit),
  // fetched once; each page gets one layer of word boxes, drawn once, in % of the page so that they follow zoom
  // and resize as the field boxes do.  mousedown is cancelled on the layer: the field keeps focus, so Tab, Enter
  // and Esc go on as before.  A pick is sent with the form (source.fields.NAME / source.lines.N.FIELD) only
  // while the field still holds the picked text.
  const CJK = /[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]/;
  const picks = new Map();                 // input -> {value, page, bbox, words: [index]}
  const layers = new Map();                // page number -> {page, width, height, words, layer, els}
  let wordsAsked = null, picking = null;

  function pickable(el) {
    if (!el || (el.tagName !== "INPUT" && el.tagName !== "TEXTAREA") || el.readOnly || el.disabled || !form.contains(el)) return false;
    return /^[fl]\./.test(el.name || "") || el.classList.contains("product-search");
  }
  function loadWords() {
    if (!wordsAsked && inner.dataset.words) {
      wordsAsked = fetch(inner.dataset.words, {credentials: "same-origin"})
        .then((answer) => (answer.ok ? answer.json() : {pages: []}))
        .then((found) => { (found.pages || []).forEach(drawWords); if (picking) startPicking(picking); })
        .catch(() => {});                    // no words: nothing to pick, the screen works as before
    }
    return wordsAsked;
  }
  function drawWords(found) {
    const page = pages.find((p) => Number(p.dataset.page) === found.number);
    if (!page) return;
    const width = found.width || parseFloat(page.dataset.w), height = found.height || parseFloat(page.dataset.h);
    if (!found.words || !found.words.length || !(width > 0 && height > 0)) return;
    const layer = document.createElement("div");
    layer.className = "words";
    const fragment = document.createDocumentFragment();
    const els = found.words.map((word, index) => {
      const [x0, y0, x1, y1] = word.bbox;
      const el = document.createElement("div");
      el.className = "word";
      el.dataset.i = String(index);
      el.style.left = `${(x0 / width) * 100}%`;
      el.style.top = `${(y0 / height) * 100}%`;
      el.style.width = `${Math.max(0.2, ((x1 - x0) / width) * 100)}%`;
      el.style.height = `${Math.max(0.2, ((y1 - y0) / height) * 100)}%`;
      fragment.appendChild(el);
      return el;
    });
    layer.appendChild(fragment);
    page.appendChild(layer);
    layers.set(found.number, {page, width, height, words: found.words, layer, els});
  }
  function startPicking(input) {
    picking = input;
    loadWords();
    if (!layers.size) return;
    body.classList.add("picking");
    mark(pickOf(input));
  }
  function stopPicking() {
    picking = null;
    body.classList.remove("picking");
    mark(null);
  }
  function pickOf(input) {                   // the pick this field still holds, else none
    const pick = picks.get(input);
    return pick && pick.value === input.value ? pick : null;
  }
  let marked = [];
  function mark(pick, cls = "picked") {
    marked.forEach((el) => el.classList.remove("picked", "inside"));
    marked = pick ? pick.words.map((i) => layers.get(pick.page).els[i]) : [];
    marked.forEach((el) => el.classList.add(cls));
  }
  // reading order: by line top to bottom (a word's centre within a line's height joins it), then left to right
  function readingOrder(words) {
    const rows = [];
    words.slice().sort((a, b) => (a.bbox[1] + a.bbox[3]) - (b.bbox[1] + b.bbox[3])).forEach((word) => {
      const middle = (word.bbox[1] + word.bbox[3]) / 2;
      const row = rows.find((r) => middle >= r.y0 && middle <= r.y1);
      if (row) { row.words.push(word); } else { rows.push({y0: word.bbox[1], y1: word.bbox[3], words: [word]}); }
    });
    rows.sort((a, b) => a.y0 - b.y0);
    return rows.flatMap((r) => r.words.sort((a, b) => a.bbox[0] - b.bbox[0]));
  }
  function joined(words) {                   // a space between words, none between two CJK characters
    return words.reduce((text, word) => {
      if (!text) return word.text;
      return text + (CJK.test(text.slice(-1)) && CJK.test(word.text.charAt(0)) ? "" : " ") + word.text;
    }, "").trim();
  }
  const MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
  function isoDate(text) {                   // a date input takes YYYY-MM-DD only; printed day first when unsure
    const two = (n) => String(n).padStart(2, "0");
    let m = text.match(/(\d{4})\s*[-./年]\s*(\d{1,2})\s*[-./月]\s*(\d{1,2})/);
    if (m) return `${m[1]}-${two(m[2])}-${two(m[3])}`;
    m = text.match(/(\d{1,2})[-./](\d{1,2})[-./](\d{4})/);
    if (m) return Number(m[2]) > 12 ? `${m[3]}-${two(m[1])}-${two(m[2])}` : `${m[3]}-${two(m[2])}-${two(m[1])}`;
    m = text.toLowerCase().match(/(\d{1,2})\.?\s*([a-z]{3})[a-z]*\.?,?\s*(\d{4})/);
    if (m && MONTHS.includes(m[2])) return `${m[3]}-${two(MONTHS.indexOf(m[2]) + 1)}-${two(m[1])}`;
    m = text.toLowerCase().match(/([a-z]{3})[a-z]*\.?\s*(\d{1,2}),?\s*(\d{4})/);
    if (m && MONTHS.includes(m[1])) return `${m[3]}-${two(MONTHS.indexOf(m[1]) + 1)}-${two(m[2])}`;
    return "";
  }
  function fill(input, number, indexes, adding) {
    const found = layers.get(number);
    const before = adding ? pickOf(input) : null;
    if (before && before.page === number) indexes = Array.from(new Set([...before.words, ...indexes]));
    if (!indexes.length) return false;
    const words = readingOrder(indexes.map((i) => found.words[i]));
    let text = joined(words);
    if (input.type === "date") text = isoDate(text);
    if (!text) return false;
    const old = input.value;
    input.value = text;
    if (input.value !== text) { input.value = old; return false; }    // the input would not take it
    const boxes = words.map((w) => w.bbox);
    const bbox = [0, 1, 2, 3].map((k) => (k < 2 ? Math.min : Math.max)(...boxes.map((b) => b[k])));
    picks.set(input, {value: input.value, page: number, bbox, words: indexes});
    input.dispatchEvent(new Event("input", {bubbles: true}));
    input.dispatchEvent(new Event("change", {bubbles: true}));
    mark(picks.get(input));
    return true;
  }
  function wordsInside(found, a, b) {        // the words whose centre lies in the rectangle a-b (page points)
    const [x0, x1] = [Math.min(a.x, b.x), Math.max(a.x, b.x)], [y0, y1] = [Math.min(a.y, b.y), Math.max(a.y, b.y)];
    const inside = [];
    found.words.forEach((word, index) => {
      const cx = (word.bbox[0] + word.bbox[2]) / 2, cy = (word.bbox[1] + word.bbox[3]) / 2;
      if (cx >= x0 && cx <= x1 && cy >= y0 && cy <= y1) inside.push(index);
    });
    return inside;
  }
  function pointOn(found, event) {           // the mouse in page points
    const rect = found.layer.getBoundingClientRect();
    return {x: ((event.clientX - rect.left) / rect.width) * found.width,
            y: ((event.clientY - rect.top) / rect.height) * found.height, px: event.clientX, py: event.clientY};
  }
  form.addEventListener("focusin", (event) => { if (pickable(event.target)) startPicking(event.target); });
  form.addEventListener("focusout", (event) => { if (event.target === picking) stopPicking(); });
  inner.addEventListener("mousedown", (event) => {
    const on = event.target.closest(".words");
    if (!on || !picking || event.button !== 0) return;
    event.preventDefault();                  // the field keeps focus (and the image is not dragged)
    const number = Number(on.closest(".page").dataset.page), found = layers.get(number), input = picking;
    const start = pointOn(found, event), word = event.target.closest(".word");
    const area = document.createElement("div");
    area.className = "pick-area";
    let end = start, dragged = false, frame = 0;
    const move = (e) => {
      end = pointOn(found, e);
      dragged = dragged || Math.abs(end.px - start.px) + Math.abs(end.py - start.py) > 4;
      if (!dragged || frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        if (!area.parentNode) found.layer.appendChild(area);
        const [x0, x1] = [Math.min(start.x, end.x), Math.max(start.x, end.x)];
        const [y0, y1] = [Math.min(start.y, end.y), Math.max(start.y, end.y)];
        Object.assign(area.style, {left: `${(x0 / found.width) * 100}%`, top: `${(y0 / found.height) * 100}%`,
          width: `${((x1 - x0) / found.width) * 100}%`, height: `${((y1 - y0) / found.height) * 100}%`});
        mark({page: number, words: wordsInside(found, start, end)}, "inside");
      });
    };
    const up = (e) => {
      document.removeEventListener("mousemove", move);
      document.removeEventListener("mouseup", up);
      cancelAnimationFrame(frame);
      area.remove();
      mark(null);
      if (input !== picking) return;                                  // focus went elsewhere meanwhile
      const chosen = dragged ? wordsInside(found, start, pointOn(found, e)) : word ? [Number(word.dataset.i)] : [];
      if (!fill(input, number, chosen, e.shiftKey)) mark(pickOf(input));
    };
    document.addEventListener("mousemove", move);
    document.addEventListener("mouseup", up);
  });
  // paging and zooming while picking: the buttons work without taking the focus from the field
  document.querySelector(".viewer-bar").addEventListener("mousedown", (event) => {
    if (picking && event.target.closest("button")) event.preventDefault();
  });
  // saving: where each picked value came from, for the values still as picked
  form.addEventListener("formdata", (event) => {
    picks.forEach((pick, input) => {
      if (!input.name || pick.value !== input.value) return;
      const path = input.name.replace(/^f\./, "fields.").replace(/^l\./, "lines.");
      event.formData.append(`source.${path}`, JSON.stringify({page: pick.page, bbox: pick.bbox}));
    });
  });
  if (inner.dataset.words) {
    if (document.readyState === "complete") loadWords(); else window.addEventListener("load", () => loadWords());
  }

  // -- long values grow with their text; on a phone only the values needing a look show, "show all" the rest --
  document.querySelectorAll(".field.long textarea").forEach((area) => {
    const grow = () => { area.style.height = "auto"; area.style.height = `${area.scrollHeight + 2}px`; };
    area.addEventListener("input", grow);
    grow();
  });
  const showAll = document.getElementById("show-all");
  if (showAll) showAll.addEventListener("click", () => body.classList.toggle("show-all"));

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
