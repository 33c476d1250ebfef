"""The back office's "Credit" form of an invoice: in full, or chosen lines by quantity or
amount (net); the reason; where the money goes. It only parses: credit_note_issue decides."""

from __future__ import annotations

import uuid

from django import forms

from billtone.invoicing.models import CreditNote, Invoice
from billtone.invoicing.services import FULL, CreditLine

SCOPES = [(FULL, "In full (everything not yet credited)"), ("lines", "Chosen lines")]


class CreditForm(forms.Form):
    scope = forms.ChoiceField(choices=SCOPES, initial=FULL, widget=forms.RadioSelect)
    reason = forms.CharField(max_length=300, help_text="Printed on the credit note.")
    refund_to = forms.ChoiceField(label="Money goes to")
    idempotency_key = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, invoice: Invoice, **kwargs):
        super().__init__(*args, **kwargs)
        self.invoice = invoice
        if invoice.status == Invoice.Status.OPEN:
            allowed = [CreditNote.RefundTo.INVOICE_DUE]
        else:
            allowed = [CreditNote.RefundTo.BUSINESS_FUNDS, CreditNote.RefundTo.CARD]
        self.fields["refund_to"].choices = [(v, CreditNote.RefundTo(v).label) for v in allowed]
        self.fields["idempotency_key"].initial = f"admin-credit:{invoice.pk}:{uuid.uuid4()}"
        self.line_rows = []
        for line in invoice.lines.all():
            label = f"Quantity of line {line.position}"
            quantity = forms.IntegerField(
                label=label,
                required=False,
                min_value=1,
                max_value=line.quantity,
                widget=forms.NumberInput(attrs={"aria-label": label, "size": 4}),
            )
            label = f"Net amount of line {line.position}"
            amount = forms.CharField(
                label=label,
                required=False,
                max_length=30,
                widget=forms.TextInput(attrs={"aria-label": label, "size": 10}),
            )
            self.fields[f"quantity_{line.position}"] = quantity
            self.fields[f"amount_{line.position}"] = amount
            self.line_rows.append(line)

    def lines_rows(self):
        """(invoice line, its quantity field, its amount field) for the template."""
        return [
            (line, self[f"quantity_{line.position}"], self[f"amount_{line.position}"])
            for line in self.line_rows
        ]

    def clean(self):
        data = super().clean()
        if data.get("scope") != "lines":
            data["lines"] = FULL
            return data
        chosen = []
        for line in self.line_rows:
            quantity = data.get(f"quantity_{line.position}")
            amount = (data.get(f"amount_{line.position}") or "").strip()
            if quantity and amount:
                self.add_error(f"amount_{line.position}", "A quantity or an amount, not both.")
            elif quantity:
                chosen.append(CreditLine(position=line.position, quantity=quantity))
            elif amount:
                chosen.append(CreditLine(position=line.position, amount=amount))
        if not chosen and not self.errors:
            raise forms.ValidationError("Give a quantity or an amount for at least one line.")
        data["lines"] = chosen
        return data
