// The Marketplace pages' one script (served at js/stratus.js): a select
// marked data-autosubmit submits its form when it changes. Everything works
// without it.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      if (select.form) { select.form.submit(); }
    });
  });
});
