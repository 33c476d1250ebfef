// The statement upload page: the CSV column map list offers the chosen bank account's maps
// only; choosing a map first chooses its bank account. Without this script every map is
// listed with its account, and the server refuses another account's map.
document.addEventListener("DOMContentLoaded", () => {
  const bank = document.getElementById("id_bank_account");
  const maps = document.getElementById("id_csv_map");
  if (!bank || !maps) return;
  const offer = () => {
    for (const option of maps.options) {
      if (!option.value) continue;
      const offered = !bank.value || option.dataset.bankAccount === bank.value;
      option.hidden = !offered;
      option.disabled = !offered;
      if (!offered && option.selected) maps.value = "";
    }
  };
  bank.addEventListener("change", offer);
  maps.addEventListener("change", () => {
    const chosen = maps.options[maps.selectedIndex];
    if (chosen && chosen.value && !bank.value) {
      bank.value = chosen.dataset.bankAccount;
      offer();
    }
  });
  offer();
});
