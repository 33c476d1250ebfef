// The statement upload page: the CSV column maps offered are the chosen bank account's;
// choosing a map first chooses its bank account. Without this script every map is listed
// with its account, and the server refuses another account's map.
document.addEventListener("DOMContentLoaded", () => {
  const bank = document.getElementById("id_bank_account");
  const none = document.querySelector("input[name=csv_map][value='']");
  const maps = document.querySelectorAll("input[name=csv_map][data-bank-account]");
  if (!bank || !none) return;
  const offer = () => {
    for (const map of maps) {
      const offered = !bank.value || map.dataset.bankAccount === bank.value;
      map.closest("label").parentElement.hidden = !offered;
      map.disabled = !offered;
      if (!offered && map.checked) none.checked = true;
    }
  };
  bank.addEventListener("change", offer);
  for (const map of maps) {
    map.addEventListener("change", () => {
      if (map.checked && !bank.value) {
        bank.value = map.dataset.bankAccount;
        offer();
      }
    });
  }
  offer();
});
