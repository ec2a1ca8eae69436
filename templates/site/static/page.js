/* specops docs: a resource page. Shown inside the graph page, it tells the graph which resource it is
   (so following a link from page to page keeps the graph's focus in step); alone, it does nothing. */
(function () {
  "use strict";
  if (window.parent === window) return;
  var address = document.body.getAttribute("data-address");
  if (address) window.parent.postMessage({ specops: "page", address: address }, "*");
})();
