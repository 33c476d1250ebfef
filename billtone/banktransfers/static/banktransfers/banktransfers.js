// Add Bank Transfer and its instructions. A static file, as the Content-Security-Policy allows
// no inline handlers; delegated from the document, so it works on forms htmx swaps in.

// Typing an amount of one's own selects "Other amount".
document.addEventListener("focusin", (event) => {
  const input = event.target.closest("[data-selects]");
  if (input) document.getElementById(input.dataset.selects).checked = true;
});

// The instructions' Print button.
document.addEventListener("click", (event) => {
  if (event.target.closest("#print-instructions")) window.print();
});
