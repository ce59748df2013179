// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";
  // Move focus to the error summary after a failed submit, so keyboard and
  // screen-reader users land on the list of problems.
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }
  // A form marked data-autosubmit carries a sign-in answer on to the portal (SAML):
  // without JavaScript its button does the same.
  var auto = document.querySelector("form[data-autosubmit]");
  if (auto) {
    auto.submit();
  }
  // Ask before destructive actions marked with data-confirm.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
})();
