// Endorse and flag comments without reloading the page (issue 18). Progressive
// enhancement only: without this file the endorse forms post and redirect back, and
// the flag link opens the flag page, which do the same things.
(function () {
  "use strict";
  var endorseForms = document.querySelectorAll("form[data-endorse]");
  var flagLinks = document.querySelectorAll("a[data-flag-link]");
  if ((!endorseForms.length && !flagLinks.length) || !window.fetch || !window.FormData) {
    return;
  }

  // One polite live region for the comment list: what a button did is said once,
  // without moving focus away from the button.
  var status = document.createElement("p");
  status.id = "comment-status";
  status.className = "visually-hidden";
  status.setAttribute("aria-live", "polite");
  (document.querySelector("main") || document.body).appendChild(status);

  function announce(message) {
    // Emptied first, so the same words twice in a row are read again.
    status.textContent = "";
    window.setTimeout(function () { status.textContent = message; }, 50);
  }

  // A problem is shown under the comment's actions as well as announced.
  function showProblem(article, message) {
    var note = article.querySelector(":scope > .comment-problem");
    if (!note) {
      note = document.createElement("p");
      note.className = "comment-problem field-error";
      article.querySelector(":scope > .comment-actions").insertAdjacentElement("afterend", note);
    }
    note.textContent = message;
    announce(message);
  }

  function clearProblem(article) {
    var note = article.querySelector(":scope > .comment-problem");
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

  // The route's JSON answer, or a rejection with a sentence saying why there is none
  // (signed out: the sign-in page; an expired form: the error page; no network).
  function send(method, url, form) {
    var answer = null;
    var options = {method: method, credentials: "same-origin",
                   headers: {"Accept": "application/json"}};
    if (form) {
      var token = form.querySelector("input[name=csrf_token]");
      options.body = new FormData(form);
      options.headers["X-CSRFToken"] = token ? token.value : "";
    }
    return window.fetch(url, options).then(function (response) {
      answer = response;
      var type = response.headers.get("Content-Type") || "";
      if (response.redirected || type.indexOf("application/json") !== 0) {
        throw new Error("not the portal's answer");
      }
      return response.json().then(function (data) {
        return {ok: response.ok, data: data};
      });
    }).catch(function () {
      throw failureMessage(answer);
    });
  }

  function busy(element) {
    if (element.getAttribute("aria-busy") === "true") {
      return true;  // a double click sends once
    }
    element.setAttribute("aria-busy", "true");
    return false;
  }

  // Endorse / Withdraw endorsement: the same button is redrawn, so focus stays on it.
  Array.prototype.forEach.call(endorseForms, function (form) {
    var article = form.closest("article");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (busy(form)) {
        return;
      }
      send("POST", form.action, form).then(function (answer) {
        var state = answer.data;
        form.action = state.action;
        form.querySelector("button").textContent = state.label;
        var count = article.querySelector(":scope > .comment-actions [data-endorsement-count]");
        if (count) {
          count.textContent = state.count_text;
        }
        if (answer.ok) {
          clearProblem(article);
          announce(state.message);
        } else {
          showProblem(article, state.message);
        }
      }, function (message) {
        showProblem(article, message);
      }).then(function () {
        form.removeAttribute("aria-busy");
      });
    });
  });

  // Flag: the flag page's own form opens under the comment (a reason is needed), and
  // is sent from there. Refused, the route answers the form again with its errors and
  // what the member typed.
  function closePanel(panel, link) {
    panel.remove();
    if (link) {
      link.setAttribute("aria-expanded", "false");
      link.focus();
    }
  }

  function openPanel(article, link, html) {
    var holder = document.createElement("template");
    holder.innerHTML = html.trim();
    var panel = holder.content.firstElementChild;
    panel.id = "flag-panel-" + article.id;
    var old = article.querySelector(":scope > .flag-panel");
    if (old) {
      old.replaceWith(panel);
    } else {
      article.querySelector(":scope > .comment-actions").insertAdjacentElement("afterend", panel);
    }
    link.setAttribute("aria-expanded", "true");
    link.setAttribute("aria-controls", panel.id);
    var form = panel.querySelector("form[data-flag-form]");
    var cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "button secondary";
    cancel.textContent = "Cancel";
    cancel.addEventListener("click", function () { closePanel(panel, link); });
    form.querySelector(".button-row").appendChild(cancel);
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        closePanel(panel, link);
      }
    });
    Array.prototype.forEach.call(panel.querySelectorAll("[data-maxlength]"), function (input) {
      if (window.portal && window.portal.addCharCount) {
        window.portal.addCharCount(input);
      }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (busy(form)) {
        return;
      }
      send("POST", form.action, form).then(function (answer) {
        if (answer.ok) {
          flagged(article, link, panel, answer.data.message);
        } else {
          openPanel(article, link, answer.data.html);
        }
      }, function (message) {
        form.removeAttribute("aria-busy");
        var note = panel.querySelector(":scope > .comment-problem");
        if (!note) {
          note = document.createElement("p");
          note.className = "comment-problem field-error";
          panel.insertBefore(note, panel.firstChild);
        }
        note.textContent = message;
        announce(message);
      });
    });
    var summary = panel.querySelector(".error-summary");
    if (summary) {
      summary.focus();
    } else {
      (panel.querySelector("input[name=reason]:checked") ||
       panel.querySelector("input[name=reason]")).focus();
    }
  }

  function flagged(article, link, panel, message) {
    var item = link.closest("li");
    panel.remove();
    item.textContent = "You flagged this comment";
    item.className = "muted";
    // Focus stays where the member was: on what the Flag link has become.
    item.tabIndex = -1;
    item.focus();
    announce(message);
  }

  Array.prototype.forEach.call(flagLinks, function (link) {
    var article = link.closest("article");
    link.setAttribute("aria-expanded", "false");
    link.addEventListener("click", function (event) {
      event.preventDefault();
      var open = article.querySelector(":scope > .flag-panel");
      if (open) {
        closePanel(open, link);
        return;
      }
      // One flag form at a time: the fields have the same ids in every one.
      Array.prototype.forEach.call(document.querySelectorAll("article > .flag-panel"),
        function (other) {
          var owner = document.querySelector('[aria-controls="' + other.id + '"]');
          other.remove();
          if (owner) {
            owner.setAttribute("aria-expanded", "false");
          }
        });
      if (busy(link)) {
        return;
      }
      send("GET", link.href).then(function (answer) {
        clearProblem(article);
        openPanel(article, link, answer.data.html);
      }, function (message) {
        showProblem(article, message);
      }).then(function () {
        link.removeAttribute("aria-busy");
      });
    });
  });
})();
