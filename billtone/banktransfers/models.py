from django.db import models


class OperatorBankAccount(models.Model):
    """Where customers send bank transfers, one per currency."""

    currency = models.CharField(max_length=3, unique=True, help_text="ISO 4217")
    account_holder = models.CharField(max_length=140)
    iban = models.CharField(max_length=34, verbose_name="IBAN")
    bic = models.CharField(max_length=11, verbose_name="BIC")
    bank_name = models.CharField(max_length=140)
    bank_address = models.CharField(max_length=280, blank=True)

    class Meta:
        ordering = ["currency"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(currency__regex=r"^[A-Z]{3}$"), name="bank_account_currency_iso"
            )
        ]

    def __str__(self) -> str:
        return f"{self.currency}: {self.bank_name} {self.iban}"
