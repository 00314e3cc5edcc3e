/* The quiz page's fixed-question picker (templates/quizzes/manage/quiz_form.html). Without this script
   the search is a GET form that reloads the page with the results; with it, the results follow what the
   trainer types or chooses, fetched as an HTML fragment from the server (the same template, the same
   search), and the address bar keeps the search so "Thêm" and reloading come back to it. */
(function () {
  "use strict";
  var form = document.querySelector("form.picker-search");
  var results = document.getElementById("picker-results");
  var status = document.getElementById("picker-status");
  if (!form || !results || !window.fetch || !window.URLSearchParams) { return; }
  var url = form.getAttribute("data-results-url");
  var timer = null;
  var sent = 0;

  function query() {
    var params = new URLSearchParams();
    Array.prototype.forEach.call(form.elements, function (element) {
      if (element.name) { params.append(element.name, element.value); }
    });
    return params.toString();
  }

  function search() {
    var ticket = ++sent;
    var current = query();
    fetch(url + "?" + current, {credentials: "same-origin", headers: {"Accept": "text/html"}})
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.text();
      })
      .then(function (html) {
        if (ticket !== sent) { return; }  // a slower, older answer must not replace a newer one
        results.innerHTML = html;  // our own template's output, escaped by Jinja
        var count = results.querySelector(".picker-count");
        if (status && count) { status.textContent = count.textContent.trim(); }
        var action = form.getAttribute("action").split("#")[0];
        window.history.replaceState(null, "", action + "?" + current + "#add-fixed");
      })
      .catch(function () { /* the "Tìm câu hỏi" button still works */ });
  }

  function schedule() {
    window.clearTimeout(timer);
    timer = window.setTimeout(search, 350);
  }

  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
}());
