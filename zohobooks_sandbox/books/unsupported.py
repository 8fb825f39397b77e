"""Operations Zoho documents (``../shared/zoho-openapi``) for the modules the product uses but
the sandbox does not emulate (comments, e-mail, attachments, templates, bank statement
matching, …).

Every one answers the same way, before authentication: HTTP 405 with Zoho's code 37 ("The HTTP
method … is not allowed for the requested resource") plus ``X-Sandbox-Not-Emulated: true``, so
a client sees a clear, consistent refusal instead of a misleading 404 or a half-made record.
The list is checked against the OpenAPI files by ``tests/sandbox/test_review_endpoints.py``
(every documented path + method either works or is listed here).
"""
from __future__ import annotations

from .. import errors
from .registry import Ctx, route

NOT_EMULATED: list[tuple[str, str]] = [
    ("GET", "/bankaccounts/{account_id}/statement/lastimported"),  # get_last_imported_bank_statement
    ("DELETE", "/bankaccounts/{account_id}/statement/{statement_id}"),  # delete_last_imported_bank_statement
    ("POST", "/bankstatements"),  # import_bank_statements
    ("POST", "/banktransactions/uncategorized/{statement_line_id}/categorize/paymentrefunds"),  # categorize_bank_transaction_as_payment_refund
    ("POST", "/banktransactions/uncategorized/{statement_line_id}/categorize/vendorpaymentrefunds"),  # categorize_as_vendor_payment_refund
    ("POST", "/banktransactions/uncategorized/{transaction_id}/categorize"),  # categorize_bank_transaction
    ("POST", "/banktransactions/uncategorized/{transaction_id}/categorize/creditnoterefunds"),  # categorize_as_credit_note_refunds
    ("POST", "/banktransactions/uncategorized/{transaction_id}/categorize/customerpayments"),  # categorize_bank_transaction_as_customer_payment
    ("POST", "/banktransactions/uncategorized/{transaction_id}/categorize/expenses"),  # categorize_bank_transaction_as_expense
    ("POST", "/banktransactions/uncategorized/{transaction_id}/categorize/vendorcreditrefunds"),  # categorize_as_vendor_credit_refunds
    ("POST", "/banktransactions/uncategorized/{transaction_id}/categorize/vendorpayments"),  # categorize_bank_transaction_as_vendor_payment
    ("POST", "/banktransactions/uncategorized/{transaction_id}/exclude"),  # exclude_bank_transaction
    ("GET", "/banktransactions/uncategorized/{transaction_id}/match"),  # get_matching_bank_transactions
    ("POST", "/banktransactions/uncategorized/{transaction_id}/match"),  # match_bank_transaction
    ("POST", "/banktransactions/uncategorized/{transaction_id}/restore"),  # restore_bank_transaction
    ("PUT", "/banktransactions/{bank_transaction_id}"),  # update_bank_transaction
    ("POST", "/banktransactions/{transaction_id}/uncategorize"),  # uncategorize_bank_transaction
    ("POST", "/banktransactions/{transaction_id}/unmatch"),  # unmatch_bank_transaction
    ("DELETE", "/chartofaccounts/transactions/{transaction_id}"),  # delete_chart_of_account_transaction
    ("POST", "/contacts/{contact_id}/address"),  # add_contact_address
    ("GET", "/contacts/{contact_id}/address"),  # get_contact_address
    ("DELETE", "/contacts/{contact_id}/address/{address_id}"),  # delete_contact_address
    ("PUT", "/contacts/{contact_id}/address/{address_id}"),  # update_contact_address
    ("GET", "/contacts/{contact_id}/comments"),  # list_contact_comments
    ("POST", "/contacts/{contact_id}/email"),  # email_contact
    ("POST", "/contacts/{contact_id}/paymentreminder/disable"),  # disable_contact_payment_reminder
    ("POST", "/contacts/{contact_id}/paymentreminder/enable"),  # enable_contact_payment_reminder
    ("POST", "/contacts/{contact_id}/portal/enable"),  # enable_contact_portal
    ("GET", "/contacts/{contact_id}/receivables/unusedretainerpayments"),  # get_unused_retainer_payments
    ("GET", "/contacts/{contact_id}/refunds"),  # list_contact_refunds
    ("POST", "/contacts/{contact_id}/statements/email"),  # email_contact_statement
    ("GET", "/contacts/{contact_id}/statements/email"),  # get_contact_statement_mail
    ("POST", "/contacts/{contact_id}/track1099"),  # track_contact_1099
    ("POST", "/contacts/{contact_id}/untrack1099"),  # untrack_contact_1099
    ("PUT", "/creditnotes/{creditnote_id}/address/billing"),  # update_credit_note_billing_address
    ("PUT", "/creditnotes/{creditnote_id}/address/shipping"),  # update_credit_note_shipping_address
    ("POST", "/creditnotes/{creditnote_id}/approve"),  # approve_credit_note
    ("POST", "/creditnotes/{creditnote_id}/comments"),  # add_credit_note_comment
    ("GET", "/creditnotes/{creditnote_id}/comments"),  # list_credit_note_comments
    ("DELETE", "/creditnotes/{creditnote_id}/comments/{comment_id}"),  # delete_credit_note_comment
    ("POST", "/creditnotes/{creditnote_id}/email"),  # email_credit_note
    ("GET", "/creditnotes/{creditnote_id}/email"),  # get_credit_note_email
    ("GET", "/creditnotes/{creditnote_id}/emailhistory"),  # get_credit_note_email_history
    ("POST", "/creditnotes/{creditnote_id}/submit"),  # submit_credit_note
    ("PUT", "/creditnotes/{creditnote_id}/templates/{template_id}"),  # update_credit_note_template
    ("PUT", "/customerpayment/{customer_payment_id}/customfields"),  # update_custom_fields_in_customer_payment
    ("DELETE", "/customerpayments"),  # bulk_delete_customer_payments
    ("PUT", "/invoice/{invoice_id}/customfields"),  # update_custom_fields_in_invoice
    ("POST", "/invoices/email"),  # email_invoices
    ("DELETE", "/invoices/expenses/{expense_id}/receipt"),  # delete_invoice_expense_receipt
    ("POST", "/invoices/fromsalesorder"),  # create_invoice_from_salesorder
    ("POST", "/invoices/mapwithorder"),  # map_invoice_with_salesorder
    ("POST", "/invoices/paymentreminder"),  # bulk_invoice_reminder
    ("PUT", "/invoices/{invoice_id}/address/billing"),  # update_invoice_billing_address
    ("PUT", "/invoices/{invoice_id}/address/shipping"),  # update_invoice_shipping_address
    ("POST", "/invoices/{invoice_id}/approve"),  # approve_invoice
    ("POST", "/invoices/{invoice_id}/attachment"),  # add_invoice_attachment
    ("DELETE", "/invoices/{invoice_id}/attachment"),  # delete_invoice_attachment
    ("GET", "/invoices/{invoice_id}/attachment"),  # get_invoice_attachment
    ("PUT", "/invoices/{invoice_id}/attachment"),  # update_invoice_attachment_preference
    ("POST", "/invoices/{invoice_id}/comments"),  # add_invoice_comment
    ("GET", "/invoices/{invoice_id}/comments"),  # list_invoice_comments
    ("DELETE", "/invoices/{invoice_id}/comments/{comment_id}"),  # delete_invoice_comment
    ("PUT", "/invoices/{invoice_id}/comments/{comment_id}"),  # update_invoice_comment
    ("DELETE", "/invoices/{invoice_id}/documents/{document_id}"),  # delete_invoice_document
    ("GET", "/invoices/{invoice_id}/documents/{document_id}"),  # get_invoice_document_details
    ("POST", "/invoices/{invoice_id}/email"),  # email_invoice
    ("GET", "/invoices/{invoice_id}/email"),  # get_invoice_email
    ("GET", "/invoices/{invoice_id}/paymentreminder"),  # get_payment_reminder_mail_content_for_invoice
    ("POST", "/invoices/{invoice_id}/paymentreminder"),  # remind_customer_for_invoice_payment
    ("POST", "/invoices/{invoice_id}/paymentreminder/disable"),  # disable_invoice_payment_reminder
    ("POST", "/invoices/{invoice_id}/paymentreminder/enable"),  # enable_invoice_payment_reminder
    ("POST", "/invoices/{invoice_id}/submit"),  # submit_invoice
    ("PUT", "/invoices/{invoice_id}/templates/{template_id}"),  # update_invoice_template
    ("POST", "/organizations"),  # create_organization
    ("PUT", "/organizations/{organization_id}"),  # update_organization
    ("GET", "/share/paymentlink"),  # generate_invoice_payment_link
]


def _refuse(ctx: Ctx):  # never called: the pipeline answers non-emulated routes itself
    raise errors.method_not_allowed(ctx.method)


for _method, _path in NOT_EMULATED:
    _module = _path.strip("/").split("/")[0]
    route(_method, _path, f"{_module}.notemulated", _module, emulated=False)(_refuse)
