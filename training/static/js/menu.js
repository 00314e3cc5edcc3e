/* Phone menu. Without this script the header's <details> opens the navigation; with it, the
   <details> becomes a real disclosure button (aria-expanded, aria-controls) that Escape closes. */
(function () {
  "use strict";
  var toggle = document.querySelector(".site-header .menu-toggle");
  var nav = document.getElementById("site-nav");
  if (!toggle || !nav) { return; }
  var summary = toggle.querySelector("summary");

  var button = document.createElement("button");
  button.type = "button";
  button.className = "menu-button";
  button.textContent = summary.textContent.trim();
  button.setAttribute("aria-controls", nav.id);
  button.setAttribute("aria-expanded", toggle.open ? "true" : "false");
  // The stylesheet shows the nav after an expanded button, exactly as after an open <details>.
  toggle.parentNode.replaceChild(button, toggle);

  function isOpen() { return button.getAttribute("aria-expanded") === "true"; }
  function setOpen(open) { button.setAttribute("aria-expanded", open ? "true" : "false"); }
  function isShown(element) { return element.offsetParent !== null; }

  button.addEventListener("click", function () { setOpen(!isOpen()); });

  document.addEventListener("keydown", function (event) {
    if ((event.key === "Escape" || event.key === "Esc") && isOpen() && isShown(button)) {
      var focusWasInside = nav.contains(document.activeElement);
      setOpen(false);
      // A focused link that just disappeared would drop focus to the page start: keep it on the button.
      if (focusWasInside || document.activeElement === button) { button.focus(); }
    }
  });

  // A tap outside the open menu closes it, as on any phone app.
  document.addEventListener("click", function (event) {
    if (isOpen() && event.target !== button && !button.contains(event.target) && !nav.contains(event.target)) {
      setOpen(false);
    }
  });
}());
