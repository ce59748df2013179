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
  // A live character count for every text field with a maximum (data-maxlength). The
  // limit is already stated in a hint; the count beside it is for sighted users, and a
  // polite live region repeats it for screen readers once typing pauses, so they are
  // not interrupted on every key. Characters are counted as the server counts them.
  function formatNumber(n) {
    return n.toLocaleString("en-US");
  }
  function countMessage(max, length) {
    var left = max - length;
    if (left >= 0) {
      return "You have " + formatNumber(left) + " character" + (left === 1 ? "" : "s") + " remaining";
    }
    return "You have " + formatNumber(-left) + " character" + (left === -1 ? "" : "s") + " too many";
  }
  function addCharCount(input) {
    var max = parseInt(input.getAttribute("data-maxlength"), 10);
    if (!max || !input.id) {
      return;
    }
    var shown = document.createElement("p");
    shown.className = "hint char-count";
    shown.id = input.id + "-count";
    shown.setAttribute("aria-hidden", "true");
    var spoken = document.createElement("p");
    spoken.className = "visually-hidden";
    spoken.setAttribute("aria-live", "polite");
    input.insertAdjacentElement("afterend", shown);
    shown.insertAdjacentElement("afterend", spoken);
    var timer = null;
    function length() {
      return Array.from(input.value.replace(/\r\n/g, "\n").trim()).length;
    }
    function update(announce) {
      var n = length();
      shown.textContent = countMessage(max, n);
      shown.classList.toggle("char-count-over", n > max);
      if (announce) {
        spoken.textContent = countMessage(max, n);
      }
    }
    input.addEventListener("input", function () {
      update(false);
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { update(true); }, 1000);
    });
    update(false);
  }
  Array.prototype.forEach.call(document.querySelectorAll("[data-maxlength]"), addCharCount);
  // For forms that other scripts add to the page later (comments.js).
  window.portal = {addCharCount: addCharCount};

  // The device's time zone: it fills the hidden field of the registration form (the
  // server keeps it only when the tz database knows it, UTC otherwise) and, on My
  // account, is offered with one button when the saved zone differs from it.
  var deviceZone = "";
  try {
    deviceZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (err) {
    deviceZone = "";
  }
  if (deviceZone) {
    Array.prototype.forEach.call(document.querySelectorAll("input[data-time-zone-guess]"),
      function (input) {
        if (!input.value) {
          input.value = deviceZone;
        }
      });
    var zoneSelect = document.querySelector(".time-zone-field select");
    var offered = zoneSelect && Array.prototype.some.call(zoneSelect.options, function (o) {
      return o.value === deviceZone;
    });
    if (offered && zoneSelect.value !== deviceZone) {
      var offer = document.createElement("p");
      offer.className = "time-zone-offer";
      var use = document.createElement("button");
      use.type = "button";
      use.className = "button secondary";
      use.textContent = "Use this device\u2019s time zone: " + deviceZone;
      use.addEventListener("click", function () {
        zoneSelect.value = deviceZone;
        offer.parentNode.removeChild(offer);
        zoneSelect.focus();
      });
      offer.appendChild(use);
      zoneSelect.insertAdjacentElement("afterend", offer);
    }
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
