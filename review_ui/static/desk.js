// desk: issue 17.  The queue page's upload: files dropped on the drop zone or chosen with the file picker go up
// one request each (XMLHttpRequest, so that each shows its own progress bar); what the server answers (received,
// already received as #N with a link, refused and why) stays on the file's row.  No inline script (CSP).
"use strict";

(function () {
  const zone = document.getElementById("upload");
  if (!zone) return;
  const drop = document.getElementById("drop-zone");
  const input = document.getElementById("upload-input");
  const list = document.getElementById("uploads");
  const limit = parseInt(zone.dataset.limit || "0", 10);
  const queue = [];
  let running = 0;
  const PARALLEL = 2;

  function row(file) {
    const item = document.createElement("li");
    item.className = "upload-item sending";
    const name = document.createElement("span");
    name.className = "name";
    name.setAttribute("translate", "no");
    name.textContent = file.name;
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    const note = document.createElement("span");
    note.className = "note";
    note.textContent = zone.dataset.tSending;
    item.append(name, bar, note);
    list.append(item);
    return { item, bar, note };
  }

  function finish(view, state, message, url) {
    view.item.classList.remove("sending");
    view.item.classList.add(state);
    view.item.dataset.state = state;
    view.bar.value = state === "failed" ? view.bar.value : 100;
    view.note.textContent = "";
    if (url) {
      const link = document.createElement("a");
      link.href = url;
      link.className = "doc-link";
      link.setAttribute("translate", "no");
      link.textContent = message;
      view.note.append(link);
    } else {
      view.note.textContent = message;
    }
  }

  function send(file, view) {
    running += 1;
    const form = new FormData();
    form.append("csrf", zone.dataset.csrf);
    form.append("file", file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", zone.dataset.url);
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) view.bar.value = Math.round((event.loaded / event.total) * 100);
    });
    xhr.addEventListener("load", () => {
      const answer = xhr.response || {};
      if (xhr.status === 201) finish(view, "received", answer.message, answer.url);
      else if (xhr.status === 200 && answer.duplicate) finish(view, "duplicate", answer.message, answer.url);
      else finish(view, "failed", `${zone.dataset.tFailed}: ${answer.message || xhr.status}`);
      done();
    });
    xhr.addEventListener("error", () => {
      finish(view, "failed", zone.dataset.tFailed);
      done();
    });
    xhr.send(form);
  }

  function done() {
    running -= 1;
    next();
    if (!running && !queue.length && list.querySelector("[data-state=received]")) {
      document.getElementById("upload-done").hidden = false;
    }
  }

  function next() {
    while (running < PARALLEL && queue.length) {
      const [file, view] = queue.shift();
      send(file, view);
    }
  }

  function add(files) {
    Array.from(files).forEach((file) => {
      const view = row(file);
      if (limit && file.size > limit) {
        finish(view, "failed", `${zone.dataset.tFailed}: ${zone.dataset.tTooLarge}`);
        return;
      }
      queue.push([file, view]);
    });
    next();
  }

  input.addEventListener("change", () => {
    add(input.files);
    input.value = "";
  });
  ["dragenter", "dragover"].forEach((type) => drop.addEventListener(type, (event) => {
    event.preventDefault();
    drop.classList.add("over");
  }));
  ["dragleave", "dragend"].forEach((type) => drop.addEventListener(type, () => drop.classList.remove("over")));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer && event.dataTransfer.files.length) add(event.dataTransfer.files);
  });
  // a file dropped beside the zone is not opened by the browser in place of the queue
  window.addEventListener("dragover", (event) => event.preventDefault());
  window.addEventListener("drop", (event) => event.preventDefault());
})();
