/* Lesson editor (templates/courses/manage/lesson_form.html). The page works without this script
   ("Xem trước" reloads it with the preview, uploads go with the form); with it:
   - the preview follows the text as the trainer types (a debounced POST to the preview endpoint, which
     renders with the learners' renderer and sanitiser; the CSRF token goes in a header);
   - an upload is inserted where the cursor was in the text, not at the end;
   - a file over its size limit is refused before it is sent, with the same message the server gives;
   - each uploaded file gets a "Chèn vào bài" button that puts its snippet at the cursor. */
(function () {
  "use strict";
  var form = document.querySelector("form.lesson-editor");
  if (!form) { return; }
  var text = form.querySelector("textarea[name=body_md]");
  var section = document.getElementById("lesson-preview");
  var body = document.getElementById("preview-body");
  var status = document.getElementById("preview-status");
  var insertAt = form.querySelector("input[name=insert_at]");
  var tokenInput = form.querySelector("input[name=csrf_token]");
  if (!text || !section || !body) { return; }
  var vi = (document.documentElement.lang || "vi").indexOf("vi") === 0;
  var words = vi ? {
    failed: "Không cập nhật được bản xem trước (mất kết nối?). Bấm “Xem trước” để thử lại.",
    tooLarge: "Tệp “%name” quá lớn (%size): %kind tối đa %limit.",
    image: "hình ảnh", audio: "âm thanh", video: "video", captions: "phụ đề",
    insert: "Chèn vào bài", inserted: "Đã chèn vào nội dung bài."
  } : {
    failed: "The preview could not be updated (connection lost?). Press the preview button to try again.",
    tooLarge: "The file “%name” is too large (%size): %kind up to %limit.",
    image: "images", audio: "audio", video: "video", captions: "captions",
    insert: "Insert into lesson", inserted: "Inserted into the lesson text."
  };

  // ---- live preview
  var timer = null;
  var sent = 0;
  function refresh() {
    var ticket = ++sent;
    var headers = {"Content-Type": "application/x-www-form-urlencoded;charset=UTF-8", "Accept": "application/json"};
    if (tokenInput) { headers["X-CSRFToken"] = tokenInput.value; }
    fetch(form.getAttribute("data-preview-url"), {
      method: "POST", credentials: "same-origin", headers: headers,
      body: new URLSearchParams({text: text.value}).toString()
    }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    }).then(function (data) {
      if (ticket !== sent) { return; }  // an older answer arriving late must not overwrite a newer one
      body.innerHTML = data.html;  // sanitised by the server (courses.markdown.render_markdown)
      if (status) { status.textContent = ""; }
    }).catch(function () {
      if (ticket === sent && status) { status.textContent = words.failed; }
    });
  }
  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 500);
  }
  section.hidden = false;
  text.addEventListener("input", schedule);
  refresh();

  // ---- where the cursor was (in characters, as the server counts them, not UTF-16 units)
  var caret = null;
  function remember() { caret = text.selectionStart; }
  ["keyup", "click", "select", "input", "blur"].forEach(function (name) { text.addEventListener(name, remember); });
  function caretInCharacters() {
    return caret === null ? "" : String(Array.from(text.value.slice(0, caret)).length);
  }

  // ---- size limits before sending
  function kindOf(file, input) {
    if (input.name === "media-captions") { return "captions"; }
    var type = (file.type || "").split("/")[0];
    if (type === "image" || type === "audio" || type === "video") { return type; }
    var ext = (file.name.split(".").pop() || "").toLowerCase();
    if (["mp3", "m4a", "ogg", "oga"].indexOf(ext) >= 0) { return "audio"; }
    if (["mp4", "webm"].indexOf(ext) >= 0) { return "video"; }
    return "image";
  }
  function megabytes(bytes) {
    var mb = bytes / 1048576;
    var shown = mb >= 1 ? (Math.round(mb * 10) / 10) + " MB" : Math.max(1, Math.round(bytes / 1024)) + " KB";
    return vi ? shown.replace(".", ",") : shown;
  }
  function oversize(input) {
    var file = input.files && input.files[0];
    if (!file) { return ""; }
    var kind = kindOf(file, input);
    var limit = Number(form.getAttribute("data-limit-" + kind));
    if (!limit || file.size <= limit) { return ""; }
    return words.tooLarge.replace("%name", file.name).replace("%size", megabytes(file.size))
      .replace("%kind", words[kind]).replace("%limit", megabytes(limit));
  }
  function showError(input, message) {
    var id = input.id + "-size-error";
    var old = document.getElementById(id);
    if (old) { old.parentNode.removeChild(old); }
    input.removeAttribute("aria-invalid");
    if (!message) { return; }
    var p = document.createElement("p");
    p.className = "error";
    p.id = id;
    p.setAttribute("role", "alert");
    p.textContent = message;
    input.parentNode.appendChild(p);
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", id);
  }
  var fileInputs = Array.prototype.slice.call(form.querySelectorAll("input[type=file]"));
  fileInputs.forEach(function (input) {
    input.addEventListener("change", function () { showError(input, oversize(input)); });
  });

  form.addEventListener("submit", function (event) {
    for (var i = 0; i < fileInputs.length; i++) {
      var message = oversize(fileInputs[i]);
      if (message) {
        event.preventDefault();
        showError(fileInputs[i], message);
        fileInputs[i].focus();
        return;
      }
    }
    if (insertAt) { insertAt.value = caretInCharacters(); }
  });

  // ---- "Chèn vào bài" for files already uploaded
  function insertSnippet(snippet) {
    var at = caret === null ? text.value.length : caret;
    var before = text.value.slice(0, at).replace(/\s+$/, "");
    var after = text.value.slice(at).replace(/^\n+/, "");
    var parts = [before, snippet, after].filter(function (part) { return part.trim() !== ""; });
    text.value = parts.join("\n\n") + "\n";
    caret = (before ? before.length + 2 : 0) + snippet.length;
    text.focus();
    text.setSelectionRange(caret, caret);
    if (status) { status.textContent = words.inserted; }
    refresh();
  }
  Array.prototype.forEach.call(form.querySelectorAll(".media-item[data-snippet]"), function (item) {
    var actions = item.querySelector(".media-actions");
    if (!actions) { return; }
    var button = document.createElement("button");
    button.type = "button";
    button.className = "button secondary";
    button.textContent = words.insert;
    var name = item.querySelector(".media-name strong");
    if (name) {
      var hidden = document.createElement("span");
      hidden.className = "sr-only";
      hidden.textContent = " " + name.textContent;
      button.appendChild(hidden);
    }
    button.addEventListener("click", function () { insertSnippet(item.getAttribute("data-snippet")); });
    actions.insertBefore(button, actions.firstChild);
  });
}());
