// The course pages: confirm before drastic buttons, select all participants, copy the join link,
// show the custom image field only for the "custom" environment. Everything works without it.
(function () {
  'use strict';

  document.querySelectorAll('[data-confirm]').forEach(function (button) {
    button.addEventListener('click', function (event) {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  });

  document.querySelectorAll('input.select-all').forEach(function (all) {
    var boxes = all.form.querySelectorAll('input[type=checkbox][name="' + all.dataset.select + '"]');
    all.addEventListener('change', function () {
      boxes.forEach(function (box) {
        box.checked = all.checked;
      });
    });
  });

  document.querySelectorAll('[data-copy]').forEach(function (button) {
    var input = document.getElementById(button.dataset.copy);
    button.addEventListener('click', function () {
      input.select();
      var done = function () {
        button.textContent = 'Copied';
        setTimeout(function () {
          button.textContent = 'Copy';
        }, 2000);
      };
      if (navigator.clipboard) navigator.clipboard.writeText(input.value).then(done, function () {});
      else if (document.execCommand('copy')) done();
    });
  });

  var environment = document.getElementById('course-environment');
  var customImage = document.getElementById('custom-image-field');
  if (environment && customImage) {
    var toggle = function () {
      customImage.hidden = environment.value !== 'custom';
    };
    environment.addEventListener('change', toggle);
    toggle();
  }
})();
