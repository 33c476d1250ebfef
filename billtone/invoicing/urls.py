from django.urls import path

from billtone.invoicing import views

app_name = "invoicing"
urlpatterns = [
    path("invoices/", views.invoices, name="invoices"),
    path("invoices/<id:invoice_id>/pdf/", views.invoice_download, name="invoice-pdf"),
    path(
        "invoices/credit-notes/<id:credit_note_id>/pdf/",
        views.credit_note_download,
        name="credit-note-pdf",
    ),
]
