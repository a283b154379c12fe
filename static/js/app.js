/*
 * Boardround browser behaviour, loaded with defer after htmx.
 *
 * Works under a strict Content Security Policy: no inline script, no eval, no HTML built
 * from strings (text goes in with textContent).
 *
 * - Starts the NHS.UK frontend components, and again on content htmx swaps in.
 * - After a swap the user asked for, moves focus to the new error summary or h1.
 * - Announces status messages in the #status-message live region. The server sends them
 *   with the response header  HX-Trigger: {"status-message": "Review saved"}.
 * - Says so when a request fails and htmx swaps nothing (see responseHandling in the
 *   layout), so an error never passes silently.
 * - Registers the service worker on pages that link a web app manifest (its path is on that link).
 */
(function () {
  "use strict";

  var STATUS_REGION_ID = "status-message";
  var FLASH_ID = "flash";

  /* -------------------------------------------------------------------------------- */
  /* Status messages                                                                   */
  /* -------------------------------------------------------------------------------- */

  function announce(message) {
    var region = document.getElementById(STATUS_REGION_ID);
    if (!region || !message) {
      return;
    }
    // Empty the region first and fill it a moment later, so the same message twice in a
    // row is still read out.
    region.textContent = "";
    window.setTimeout(function () {
      region.textContent = message;
    }, 100);
  }

  document.addEventListener("status-message", function (event) {
    var detail = event.detail || {};
    var message = typeof detail.value === "string" ? detail.value : detail.message;
    if (typeof message === "string") {
      announce(message);
    }
  });

  /* -------------------------------------------------------------------------------- */
  /* Focus after a swap                                                                */
  /* -------------------------------------------------------------------------------- */

  function focusTargetWithin(element) {
    var selectors = [".nhsuk-error-summary", "h1"];
    for (var i = 0; i < selectors.length; i += 1) {
      if (element.matches(selectors[i])) {
        return element;
      }
      var found = element.querySelector(selectors[i]);
      if (found) {
        return found;
      }
    }
    return null;
  }

  function moveFocusTo(element) {
    if (!element.hasAttribute("tabindex")) {
      element.setAttribute("tabindex", "-1");
    }
    element.focus();
  }

  // Requests already given focus: htmx settles each swapped element (and each
  // out-of-band one) separately, but focus should move once per response.
  var focused = new WeakSet();

  document.addEventListener("htmx:afterSettle", function (event) {
    var detail = event.detail || {};
    var element = event.target;
    if (!(element instanceof Element) || !detail.xhr || focused.has(detail.xhr)) {
      return;
    }
    // Move focus only for what the user did (a click, a submit) or when the focused
    // element was swapped away. Background refreshes (polling, server-sent events,
    // HX-Trigger events) must never pull focus from where the user is working.
    var config = detail.requestConfig || {};
    var userAction = Boolean(config.triggeringEvent && config.triggeringEvent.isTrusted);
    var focusLost = !document.activeElement || document.activeElement === document.body;
    if (!userAction && !focusLost) {
      return;
    }
    var target = focusTargetWithin(element);
    if (target) {
      focused.add(detail.xhr);
      moveFocusTo(target);
    }
  });

  /* -------------------------------------------------------------------------------- */
  /* Requests that failed and swapped nothing                                          */
  /* -------------------------------------------------------------------------------- */

  function messageForStatus(status) {
    if (status === 401) {
      return "You have been signed out. Sign in again to carry on.";
    }
    if (status === 403) {
      return "You do not have permission to do that.";
    }
    if (status === 404) {
      return "That could not be found. It may have been removed: reload the page.";
    }
    if (status === 413) {
      return "That was too large to send.";
    }
    if (status >= 500) {
      return "Something went wrong on our side and the change was not saved. Try again.";
    }
    return "That did not work (error " + status + "). Reload the page and try again.";
  }

  function showProblem(message) {
    var flash = document.getElementById(FLASH_ID);
    if (!flash) {
      announce(message);
      return;
    }
    var summary = document.createElement("div");
    summary.className = "nhsuk-error-summary";
    summary.setAttribute("role", "alert");
    summary.setAttribute("tabindex", "-1");

    var title = document.createElement("h2");
    title.className = "nhsuk-error-summary__title";
    title.textContent = "There is a problem";

    var body = document.createElement("div");
    body.className = "nhsuk-error-summary__body";
    var text = document.createElement("p");
    text.textContent = message;
    body.appendChild(text);

    summary.appendChild(title);
    summary.appendChild(body);
    flash.replaceChildren(summary);
    summary.focus();
  }

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail && event.detail.xhr;
    showProblem(messageForStatus(xhr ? xhr.status : 0));
  });

  // Background reads (live rows, the alert count) say so in their headers: offline they are not
  // sent at all, and one that fails is no news to the person (the offline and stale banners say it).
  function isBackground(detail) {
    var headers = (detail && detail.requestConfig && detail.requestConfig.headers) || {};
    return headers["X-Boardround-Background"] === "1";
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (!navigator.onLine && isBackground(event.detail)) {
      event.preventDefault();
    }
  });

  document.addEventListener("htmx:sendError", function (event) {
    if (isBackground(event.detail)) {
      return;
    }
    showProblem("Boardround could not reach the server, so nothing was saved. Check the connection and try again.");
  });

  document.addEventListener("htmx:timeout", function () {
    showProblem("The server took too long to answer, so the change may not have been saved. Reload the page to check.");
  });

  /* -------------------------------------------------------------------------------- */
  /* NHS.UK frontend components                                                        */
  /* -------------------------------------------------------------------------------- */

  function onComponentError(error) {
    // Components already started (the page, then the same element again) are fine.
    if (error && error.name === "InitError") {
      return;
    }
    window.console.error(error);
  }

  var nhsukScript = document.querySelector("script[data-nhsuk-frontend]");
  if (nhsukScript) {
    // Same URL as the module script in the layout, so the browser reuses that module.
    import(nhsukScript.src).then(function (nhsuk) {
      nhsuk.initAll({ onError: onComponentError });
      if (window.htmx) {
        window.htmx.onLoad(function (element) {
          if (element instanceof Element && element !== document.body) {
            nhsuk.initAll({ scope: element, onError: onComponentError });
          }
        });
      }
    }, onComponentError);
  }


  /* -------------------------------------------------------------------------------- */
  /* Board round: previous/next by keyboard or swipe, a timer per patient, print        */
  /* -------------------------------------------------------------------------------- */

  function isTyping(element) {
    return element && (element.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(element.tagName));
  }

  function roundLink(rel) {
    return document.querySelector('#round-step a[rel="' + rel + '"]');
  }

  function follow(link) {
    // The link may have arrived with the swap a moment ago, before htmx took it over: then the
    // browser would follow it as a plain link and reload the whole page. Hand it to htmx first.
    if (window.htmx) {
      window.htmx.process(link);
    }
    link.click();
  }

  document.addEventListener("keydown", function (event) {
    if (event.altKey || event.ctrlKey || event.metaKey || isTyping(document.activeElement)) {
      return;
    }
    var link = event.key === "ArrowLeft" ? roundLink("prev") : event.key === "ArrowRight" ? roundLink("next") : null;
    if (link) {
      event.preventDefault();
      follow(link);
    }
  });

  // A deliberate horizontal swipe (gloved hands: generous distance, little vertical drift).
  var touchStart = null;
  document.addEventListener("touchstart", function (event) {
    if (event.touches.length === 1 && !isTyping(event.target) && event.target.closest("#round-step")) {
      touchStart = { x: event.touches[0].clientX, y: event.touches[0].clientY };
    } else {
      touchStart = null;
    }
  }, { passive: true });
  document.addEventListener("touchend", function (event) {
    if (!touchStart || event.changedTouches.length !== 1) {
      return;
    }
    var dx = event.changedTouches[0].clientX - touchStart.x;
    var dy = event.changedTouches[0].clientY - touchStart.y;
    touchStart = null;
    if (Math.abs(dx) > 120 && Math.abs(dy) < 50) {
      var link = roundLink(dx > 0 ? "prev" : "next");
      if (link) {
        follow(link);
      }
    }
  }, { passive: true });

  // "This patient N s": counts from when the patient's screen appeared.
  window.setInterval(function () {
    var timer = document.querySelector("#round-step .app-timer");
    if (!timer) {
      return;
    }
    if (!timer.dataset.shownAt) {
      timer.dataset.shownAt = String(Date.now());
    }
    var seconds = Math.round((Date.now() - Number(timer.dataset.shownAt)) / 1000);
    timer.textContent = "this patient " + (seconds < 60 ? seconds + " s" : Math.floor(seconds / 60) + " min " + (seconds % 60) + " s");
  }, 1000);

  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-print]") : null;
    if (button) {
      window.print();
    }
  });


  /* -------------------------------------------------------------------------------- */
  /* Round step: quick EDD dates, character counters, Save by keyboard                  */
  /* -------------------------------------------------------------------------------- */

  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-edd-date]") : null;
    var form = button ? button.closest("form") : null;
    var field = form ? form.querySelector("#expected_discharge_date") : null;
    if (!field) {
      return;
    }
    field.value = button.dataset.eddDate;
    field.dispatchEvent(new Event("change", { bubbles: true }));
    var buttons = form.querySelectorAll("[data-edd-date]");
    for (var i = 0; i < buttons.length; i += 1) {
      buttons[i].setAttribute("aria-pressed", buttons[i] === button ? "true" : "false");
    }
    // A changed date needs its reason: straight to it (the keyboard opens on a tablet).
    var reason = form.querySelector("#edd_reason");
    if (reason && form.dataset.eddWas && form.dataset.eddWas !== field.value && !reason.value) {
      reason.focus();
    }
    var day = button.querySelector(".app-quick-date__day");
    announce("Expected discharge date set to " + (day ? day.textContent : button.dataset.eddDate));
  });

  function updateCounter(field) {
    var counter = document.querySelector('[data-counter-for="' + field.id + '"]');
    if (!counter) {
      return;
    }
    var limit = Number(counter.dataset.limit);
    counter.textContent = field.value.length + " of " + limit + " characters";
    counter.classList.toggle("app-counter--near", field.value.length > limit * 0.9);
  }

  document.addEventListener("input", function (event) {
    if (event.target instanceof HTMLElement && event.target.id) {
      updateCounter(event.target);
    }
  });

  // "Skip to Save": focus the button itself, so Enter or Space saves next.
  document.addEventListener("click", function (event) {
    var skip = event.target instanceof Element ? event.target.closest(".app-skip-to-save") : null;
    var save = skip ? document.getElementById("save-patient") : null;
    if (save) {
      event.preventDefault();
      save.focus();
    }
  });

  // Alt+S saves the patient from anywhere in the step (as does the "Skip to Save" link).
  document.addEventListener("keydown", function (event) {
    if (!event.altKey || event.ctrlKey || event.metaKey || (event.key || "").toLowerCase() !== "s") {
      return;
    }
    var save = document.querySelector("#round-step #save-patient");
    if (save) {
      event.preventDefault();
      save.click();
    }
  });

  /* -------------------------------------------------------------------------------- */
  /* Round step: what was typed survives the session ending                             */
  /* -------------------------------------------------------------------------------- */
  /*
   * Just before the step's form is sent, its fields go into sessionStorage (this tab only,
   * gone when the tab closes), keyed by round and patient, with the signed-in user. A save
   * that the server answered (saved, or the form shown again with its errors or a conflict)
   * removes it. One that did not get through (the session had ended and the server sent the
   * tablet to sign in, or the connection dropped) keeps it: after signing in again as the
   * same user, the step puts it back, with the versions the form was drawn at, so saving
   * still goes through the version check. Signing out removes every draft.
   */
  var DRAFT_PREFIX = "boardround:draft:";

  function stepDraftKey(step) {
    return step && step.dataset.draftKey ? DRAFT_PREFIX + step.dataset.draftKey : null;
  }

  function storage() {
    try {
      return window.sessionStorage;
    } catch (error) {
      return null;
    }
  }

  function saveDraft(form) {
    var step = form.closest("#round-step");
    var key = stepDraftKey(step);
    var store = storage();
    if (!key || !store) {
      return;
    }
    var fields = [];
    var data = new FormData(form);
    data.forEach(function (value, name) {
      if (name !== "csrf_token" && typeof value === "string") {
        fields.push([name, value]);
      }
    });
    store.setItem(key, JSON.stringify({ user: step.dataset.draftUser, fields: fields }));
  }

  function dropDraft(step) {
    var key = stepDraftKey(step);
    var store = storage();
    if (key && store) {
      store.removeItem(key);
    }
  }

  function restoreDraft(step) {
    var key = stepDraftKey(step);
    var store = storage();
    var form = step ? step.querySelector("#patient-form") : null;
    if (!key || !store || !form) {
      return;
    }
    var draft = null;
    try {
      draft = JSON.parse(store.getItem(key) || "null");
    } catch (error) {
      draft = null;
    }
    if (!draft || !Array.isArray(draft.fields)) {
      return;
    }
    store.removeItem(key);
    if (draft.user !== step.dataset.draftUser) {
      return; // someone else signed in on this tablet: never show them another user's typing
    }
    var values = {};
    draft.fields.forEach(function (pair) {
      (values[pair[0]] = values[pair[0]] || []).push(pair[1]);
    });
    Array.prototype.forEach.call(form.elements, function (field) {
      if (!field.name || field.name === "csrf_token" || field.type === "submit" || field.type === "button") {
        return;
      }
      var sent = values[field.name] || [];
      if (field.type === "checkbox" || field.type === "radio") {
        field.checked = sent.indexOf(field.value) !== -1;
      } else if (field.name in values) {
        field.value = sent[0];
        updateCounter(field);
      }
    });
    // A folded part (the colour override, other delay reasons) holding restored answers opens.
    Array.prototype.forEach.call(form.querySelectorAll("details"), function (details) {
      var filled = Array.prototype.some.call(details.querySelectorAll("input, select, textarea"), function (field) {
        if (field.type === "checkbox" || field.type === "radio") {
          return field.checked && field.value !== "";
        }
        return field.value !== "";
      });
      if (filled) {
        details.open = true;
      }
    });
    var notice = document.getElementById("draft-notice");
    if (notice) {
      var text = document.createElement("p");
      text.textContent = "This was not saved (the session ended, or the connection dropped). What you typed has been put back: check it and save.";
      notice.replaceChildren(text);
      notice.hidden = false;
    }
    saveDraft(form); // until it is saved: a second sign-in on the way keeps it too
  }

  // Any request from inside the form keeps the typing first: the live red/green preview (a GET)
  // can be the request that finds the session ended and sends the tablet to sign in.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.target instanceof Element ? event.target.closest("#patient-form") : null;
    if (form) {
      saveDraft(form);
    }
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.target instanceof Element ? event.target.closest("#patient-form") : null;
    var xhr = event.detail && event.detail.xhr;
    // Answered (2xx saved; 409 or 422 shows the form again with what was typed): no draft
    // needed. 401 (signed out), 403 and no answer at all keep it for after signing in.
    var posted = ((event.detail && event.detail.requestConfig) || {}).verb === "post";
    if (form && posted && xhr && (xhr.status < 300 || xhr.status === 409 || xhr.status === 422) && xhr.status >= 200) {
      dropDraft(form.closest("#round-step"));
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.matches(".nhsuk-header__account-form")) {
      var store = storage();
      if (store) {
        Object.keys(store).forEach(function (key) {
          if (key.indexOf(DRAFT_PREFIX) === 0) {
            store.removeItem(key);
          }
        });
      }
    }
  }, true);

  // On the page's first load and when a patient's step is swapped in; never on other swaps.
  function restoreIn(element) {
    var step = element && element.id === "round-step" ? element : null;
    if (!element || element === document.body) {
      step = document.getElementById("round-step");
    }
    if (step) {
      restoreDraft(step);
    }
  }
  if (window.htmx) {
    window.htmx.onLoad(function (element) {
      restoreIn(element instanceof Element ? element : null);
    });
  } else {
    restoreIn(null);
  }

  // The sign-in page after a session ended: say what was kept on this tablet.
  (function () {
    var store = storage();
    var signIn = document.querySelector("form[action*='sign-in']");
    if (!store || !signIn || !new URLSearchParams(window.location.search).get("ended")) {
      return;
    }
    var kept = Object.keys(store).some(function (key) {
      return key.indexOf(DRAFT_PREFIX) === 0;
    });
    if (kept) {
      var note = document.createElement("p");
      note.className = "nhsuk-body app-draft-kept";
      note.id = "draft-kept";
      note.textContent = "What you typed for a patient has not been saved yet. It is kept on this tablet: sign in as the same person to save it.";
      signIn.parentNode.insertBefore(note, signIn);
    }
  })();


  /* -------------------------------------------------------------------------------- */
  /* Offline: say so, show when the board was last updated, and refuse to save          */
  /* -------------------------------------------------------------------------------- */

  var OFFLINE_BANNER_ID = "offline-banner";

  function lastUpdated() {
    var marker = document.querySelector("[data-updated-at]");
    if (!marker) {
      return null;
    }
    var when = new Date(marker.getAttribute("data-updated-at"));
    if (isNaN(when.getTime())) {
      return null;
    }
    return new Intl.DateTimeFormat("en-GB", { timeZone: "Europe/London", hour: "2-digit", minute: "2-digit" }).format(when);
  }

  function setSaving(allowed) {
    var buttons = document.querySelectorAll('form[method="post"] button[type="submit"], form[method="post"] .nhsuk-button');
    for (var i = 0; i < buttons.length; i += 1) {
      if (allowed) {
        if (buttons[i].dataset.offlineDisabled) {
          buttons[i].disabled = false;
          buttons[i].removeAttribute("aria-disabled");
          delete buttons[i].dataset.offlineDisabled;
        }
      } else if (!buttons[i].disabled) {
        buttons[i].disabled = true;
        buttons[i].setAttribute("aria-disabled", "true");
        buttons[i].dataset.offlineDisabled = "1";
      }
    }
  }

  function showOffline() {
    var main = document.getElementById("maincontent");
    if (!main || document.getElementById(OFFLINE_BANNER_ID)) {
      return;
    }
    var banner = document.createElement("div");
    banner.id = OFFLINE_BANNER_ID;
    banner.className = "nhsuk-warning-callout app-offline";
    banner.setAttribute("role", "status");
    var heading = document.createElement("h2");
    heading.className = "nhsuk-warning-callout__label";
    heading.textContent = "Offline";
    var text = document.createElement("p");
    var updated = lastUpdated();
    text.textContent = (updated ? "Offline, last updated " + updated + ". " : "You are offline. ") +
      "This is read-only: changes cannot be saved until the connection is back.";
    banner.appendChild(heading);
    banner.appendChild(text);
    main.insertBefore(banner, main.firstChild);
    setSaving(false);
    announce(text.textContent);
  }

  function showOnline() {
    var banner = document.getElementById(OFFLINE_BANNER_ID);
    if (banner) {
      banner.remove();
      setSaving(true);
      announce("Back online");
    }
  }

  window.addEventListener("offline", showOffline);
  window.addEventListener("online", showOnline);
  if (!navigator.onLine) {
    showOffline();
  }
  document.addEventListener("htmx:afterSettle", function () {
    if (!navigator.onLine) {
      setSaving(false);
    }
  });

  // The layout's manifest link carries the service worker's and the sign-in page's paths.
  var manifest = document.querySelector('link[rel="manifest"]');

  // Any sign-in page means the previous session is over: drop the cached ward boards.
  if ("serviceWorker" in navigator && manifest && window.location.pathname === manifest.dataset.signIn) {
    navigator.serviceWorker.ready.then(function (registration) {
      if (registration.active) {
        registration.active.postMessage({ type: "clear-boards" });
      }
    });
  }

  /* -------------------------------------------------------------------------------- */
  /* Service worker                                                                    */
  /* -------------------------------------------------------------------------------- */

  if ("serviceWorker" in navigator && manifest && manifest.dataset.serviceWorker) {
    window.addEventListener("load", function () {
      navigator.serviceWorker.register(manifest.dataset.serviceWorker).catch(function (error) {
        window.console.warn("Service worker not registered", error);
      });
    });
  }
})();
