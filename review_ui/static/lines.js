// The lines area of the review screen (issue 17): add a line (A, or the button) with a product chooser that offers
// the open lines of the document's purchase order and the supplier's usual products first, then what is typed;
// split and create-product pop-ups; the proposed new supplier (create it, or pick an existing one).  Every change
// is a submit of the review form to its own formaction, so the person's other edits travel with it.  The keys:
// A opens the new line; in its product box ↑/↓ and Enter pick (unit, price, open quantity and factor filled in),
// Enter in any other box adds the line; Esc closes.  No inline script (CSP); the list is app.js's listbox.
"use strict";

(function () {
  const body = document.body;
  if (body.dataset.page !== "document") return;
  const form = document.getElementById("review-form");
  const listbox = window.inboundListbox, productText = window.inboundProductText;
  if (!form || !listbox) return;

  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable]") !== null;
  }
  // Enter inside a pop-up (split, new product, new supplier) submits that pop-up's own button, not the review
  // form's attention walk (app.js listens on the form; this runs first, on the way up)
  function submitsWith(container, button) {
    container.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" || event.ctrlKey || event.metaKey || event.altKey) return;
      if (!event.target.matches("input, textarea") || event.target.type === "search") return;
      event.preventDefault();
      event.stopPropagation();
      form.requestSubmit(button);
    });
  }
  document.querySelectorAll("details.split-line, details.new-product").forEach((details) => {
    const button = details.querySelector("button[type=submit]");
    submitsWith(details, button);
    details.addEventListener("toggle", () => {
      if (details.open) {
        const first = details.querySelector("input:not([type=checkbox])");
        if (first) first.focus();
      }
    });
    details.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && details.open) { details.open = false; details.querySelector("summary").focus(); }
    });
  });

  // -- a new line ------------------------------------------------------------------------------------------
  const dialog = document.getElementById("add-line-dialog");
  const opener = document.getElementById("add-line");
  if (dialog && opener) {
    const search = document.getElementById("add-product");
    const list = document.getElementById("add-found");
    const submit = document.getElementById("add-line-submit");
    const box = (id) => document.getElementById(id);
    const fields = {id: box("add-product-id"), description: box("add-description"), quantity: box("add-quantity"),
                    unit: box("add-unit"), unit_price: box("add-price"), uom_factor: box("add-factor")};
    let offered = null;             // what the chooser offers first (fetched once)
    const offers = () => {
      if (!offered) {
        offered = fetch(dialog.dataset.options, {credentials: "same-origin"})
          .then((answer) => (answer.ok ? answer.json() : {items: []}))
          .then((found) => (found.items || []).map((item) => ({
            ...item, note: [item.po ? `${dialog.dataset.fromPo || ""} ${item.po}` : "",
                            item.quantity ? `${item.quantity} ${item.unit}` : item.unit].join(" ").trim()})))
          .catch(() => []);
      }
      return offered;
    };
    const items = async (text) => {
      const first = await offers();
      const needle = text.toLowerCase();
      const mine = first.filter((item) => !needle || `${item.sku} ${item.name}`.toLowerCase().includes(needle));
      if (!text) return mine;
      const answer = await fetch(`/review/products?q=${encodeURIComponent(text)}`, {credentials: "same-origin"});
      const more = answer.ok ? (await answer.json()).items : [];
      const seen = new Set(mine.map((item) => item.id));
      return [...mine, ...more.filter((item) => !seen.has(item.id))];
    };
    const pick = (item) => {
      fields.id.value = String(item.id);
      search.value = `${item.sku} · ${item.name}`;
      search.dataset.picked = search.value;
      fields.description.value = item.name;
      fields.unit.value = item.unit || "";
      if (item.unit_price) fields.unit_price.value = item.unit_price;
      if (item.quantity) fields.quantity.value = item.quantity;
      fields.uom_factor.value = item.uom_factor || "";
      fields.quantity.focus();
      fields.quantity.select();
    };
    const chooser = listbox(search, list, {items, pick, render: productText});
    search.addEventListener("input", () => {      // typed over a pick: no product chosen any more
      if (search.dataset.picked && search.value !== search.dataset.picked) {
        fields.id.value = "";
        delete search.dataset.picked;
      }
    });
    search.addEventListener("focus", () => chooser.refresh());
    dialog.addEventListener("keydown", (event) => {
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      if (event.target === search && chooser.key(event)) { event.stopPropagation(); return; }
      if (event.key === "Escape") { event.stopPropagation(); return; }   // the dialog closes itself
      if (event.key !== "Enter" || !event.target.matches("input")) return;
      event.preventDefault();
      event.stopPropagation();
      if (event.target === search) {           // nothing to pick: what is typed is the line's description
        if (search.value.trim() && !fields.id.value) fields.description.value = search.value.trim();
        fields.quantity.focus();
        return;
      }
      form.requestSubmit(submit);
    });
    const open = () => {
      if (dialog.open) return;
      dialog.showModal();
      search.focus();
    };
    opener.addEventListener("click", open);
    document.getElementById("add-line-cancel").addEventListener("click", () => dialog.close());
    document.addEventListener("keydown", (event) => {
      if (event.key !== "a" && event.key !== "A") return;
      if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
      if (document.querySelector("dialog[open]")) return;
      event.preventDefault();
      open();
    });
    if (!document.querySelector("tbody.line")) offers();     // no lines read: the chooser is likely next
  }

  // -- the proposed new supplier --------------------------------------------------------------------------
  const proposal = document.querySelector("section.new-supplier");
  if (proposal) {
    const grid = proposal.querySelector(".supplier-grid");
    if (grid) submitsWith(grid, document.getElementById("create-supplier"));
    const search = document.getElementById("supplier-search");
    const chosen = document.getElementById("supplier-pick");
    const use = document.getElementById("pick-supplier");
    const finder = listbox(search, document.getElementById("supplier-found"), {
      render: (li, item) => {
        const name = document.createElement("b");
        name.textContent = item.name;
        li.append(name);
        if (item.tax_id) {
          const tax = document.createElement("small");
          tax.textContent = ` ${item.tax_id}`;
          li.append(tax);
        }
      },
      items: async (text) => {
        if (!text) return [];
        const answer = await fetch(`/review/suppliers?q=${encodeURIComponent(text)}`, {credentials: "same-origin"});
        return answer.ok ? (await answer.json()).items : [];
      },
      pick: (item) => {
        chosen.value = String(item.id);
        search.value = item.name;
        use.disabled = false;
        use.focus();
      },
    });
    search.addEventListener("keydown", (event) => {
      if (finder.key(event)) { event.stopPropagation(); return; }
      if (event.key === "Enter") { event.preventDefault(); event.stopPropagation(); }
    });
    search.addEventListener("input", () => { chosen.value = ""; use.disabled = true; });
  }
})();
