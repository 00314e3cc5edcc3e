/* Unit fields of the HR pages: suggestions while typing. Without this script the field still works:
   the server resolves a typed name or code, and offers links when several units match. With it, the
   field's <datalist> is filled from /hr/unit-search (at most 20 units of the user's scope) so that
   the browser shows them under the field, announced as suggestions; choosing one puts its code in. */
(function () {
  "use strict";
  var fields = document.querySelectorAll("input[data-unit-search]");
  if (!fields.length || !window.fetch) { return; }

  function attach(input) {
    var list = document.getElementById(input.getAttribute("list"));
    var url = input.getAttribute("data-unit-search");
    var timer = null;
    var asked = "";
    var controller = null;

    function fill(items) {
      while (list.firstChild) { list.removeChild(list.firstChild); }
      items.forEach(function (item) {
        var option = document.createElement("option");
        option.value = item.code;
        option.label = item.parent ? item.name + " — " + item.parent : item.name;
        option.textContent = option.label;
        list.appendChild(option);
      });
    }

    function ask() {
      var text = input.value.trim();
      if (text.length < 2 || text === asked) { return; }
      asked = text;
      if (controller) { controller.abort(); }
      controller = window.AbortController ? new AbortController() : null;
      fetch(url + "?q=" + encodeURIComponent(text), {
        credentials: "same-origin", headers: { "Accept": "application/json" },
        signal: controller ? controller.signal : undefined
      }).then(function (response) {
        return response.ok ? response.json() : { items: [] };
      }).then(function (body) {
        if (input.value.trim() === text) { fill(body.items || []); }
      }).catch(function () { /* offline or aborted: the field still works without suggestions */ });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, 200);
    });
  }

  Array.prototype.forEach.call(fields, attach);
}());
