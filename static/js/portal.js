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
  Array.prototype.forEach.call(document.querySelectorAll("[data-maxlength]"), function (input) {
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
  });

  // Endorse and withdraw without reloading the page. The form posts as it does without
  // JavaScript, asking for JSON; the answer redraws the button and the count in place,
  // so focus stays on the button, and a polite live region says what happened. When
  // the answer is not the portal's JSON (signed out, expired form, rate limit, no
  // network), nothing changes on the page and the region says so.
  var endorseForms = document.querySelectorAll("form[data-endorse]");
  var commentStatus = null;
  if (endorseForms.length) {
    commentStatus = document.createElement("p");
    commentStatus.id = "comment-status";
    commentStatus.className = "visually-hidden";
    commentStatus.setAttribute("aria-live", "polite");
    (document.querySelector("main") || document.body).appendChild(commentStatus);
  }
  function announce(message) {
    // Cleared first so the same words twice in a row are read again.
    commentStatus.textContent = "";
    window.setTimeout(function () { commentStatus.textContent = message; }, 50);
  }
  function showProblem(form, message) {
    var article = form.closest("article");
    var note = article && article.querySelector(":scope > .comment-problem");
    if (article && !note) {
      note = document.createElement("p");
      note.className = "comment-problem field-error";
      article.querySelector(":scope > .comment-actions").insertAdjacentElement("afterend", note);
    }
    if (note) {
      note.textContent = message;
    }
    announce(message);
  }
  function clearProblem(form) {
    var article = form.closest("article");
    var note = article && article.querySelector(":scope > .comment-problem");
    if (note) {
      note.remove();
    }
  }
  function failureMessage(response) {
    if (!response) {
      return "The portal could not be reached, so nothing changed. Check your connection and try again.";
    }
    if (response.redirected || response.status === 401) {
      return "You are no longer signed in, so nothing changed. Reload the page to sign in again.";
    }
    if (response.status === 429) {
      return "Too many requests in a short time, so nothing changed. Wait a minute and try again.";
    }
    if (response.status === 400) {
      return "This page is out of date, so nothing changed. Reload the page and try again.";
    }
    return "Something went wrong, so nothing changed. Reload the page and try again.";
  }
  function redraw(form, state) {
    form.action = state.action;
    var button = form.querySelector("button");
    button.textContent = state.label;
    var article = form.closest("article");
    var count = article && article.querySelector(":scope > .comment-actions [data-endorsement-count]");
    if (count) {
      count.textContent = state.count_text;
    }
  }
  Array.prototype.forEach.call(endorseForms, function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (form.getAttribute("aria-busy") === "true") {
        return;  // a double click sends once
      }
      form.setAttribute("aria-busy", "true");
      var token = form.querySelector("input[name=csrf_token]");
      var answer = null;
      window.fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: {"Accept": "application/json", "X-CSRFToken": token ? token.value : ""}
      }).then(function (response) {
        answer = response;
        var type = response.headers.get("Content-Type") || "";
        if (response.redirected || type.indexOf("application/json") !== 0) {
          throw new Error("not the portal's answer");
        }
        return response.json();
      }).then(function (state) {
        redraw(form, state);
        if (answer.ok) {
          clearProblem(form);
          announce(state.message);
        } else {
          showProblem(form, state.message);
        }
      }).catch(function () {
        showProblem(form, failureMessage(answer));
      }).then(function () {
        form.removeAttribute("aria-busy");
      });
    });
  });

  // Ask before destructive actions marked with data-confirm.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
})();
