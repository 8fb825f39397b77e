"""The admin HTML page at ``/_sandbox``: act as the Zoho user without writing JSON.

One page, no JavaScript: a summary card per organisation (records, API calls, 429s by
operation), the selected organisation's most recently changed invoices and customers with
one-click actions (record a payment or apply a credit for the balance, write off, void,
delete; deactivate or delete a customer), and forms for the rest (create an organisation,
generate data, edit an invoice's amount or due date, limits, counters). Every form posts to
``POST /_sandbox/ui`` (``admin.ui_dispatch``) and comes back here with a message.
"""
from __future__ import annotations

import html
from typing import Any

from .state import OrgData, Sandbox

e = html.escape

CSS = """
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:#1f2937;background:#f4f6f9}header{background:#1f2937;color:#fff;padding:14px 28px;display:flex;
align-items:baseline;gap:18px}header h1{font-size:18px;margin:0;font-weight:600}header .meta{color:#cbd5e1;
font-size:12.5px}header a{color:#93c5fd}main{padding:20px 28px;max-width:1320px}
.msg{background:#ecfdf5;border:1px solid #a7f3d0;color:#065f46;padding:8px 12px;border-radius:6px;margin-bottom:16px}
.msg.err{background:#fef2f2;border-color:#fecaca;color:#991b1b}
.orgs{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:14px;margin-bottom:20px}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:14px 16px}
.card.sel{border-color:#2563eb;box-shadow:0 0 0 2px #bfdbfe}.card h3{margin:0 0 2px;font-size:15px}
.card .sub{color:#6b7280;font-size:12px;margin-bottom:8px}.nums{display:flex;gap:14px;flex-wrap:wrap}
.nums div{font-size:12px;color:#6b7280}.nums b{display:block;font-size:17px;color:#111827}
.ops{margin-top:8px;font-size:12px;color:#4b5563}.ops code{background:#f3f4f6;padding:1px 4px;border-radius:3px}
h2{font-size:15px;margin:22px 0 8px}table{width:100%;border-collapse:collapse;background:#fff;
border:1px solid #e5e7eb;border-radius:8px;overflow:hidden}th,td{padding:6px 10px;text-align:left;
border-bottom:1px solid #f0f1f3;font-size:13px;white-space:nowrap}th{background:#f9fafb;color:#6b7280;
font-weight:600;font-size:12px}td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:11.5px;background:#e5e7eb}
.b-paid{background:#dcfce7;color:#166534}.b-overdue{background:#fee2e2;color:#991b1b}
.b-partially_paid{background:#fef9c3;color:#854d0e}.b-void{background:#e5e7eb;color:#6b7280}
.b-draft{background:#e0e7ff;color:#3730a3}.b-sent,.b-viewed{background:#dbeafe;color:#1e40af}
.b-active{background:#dcfce7;color:#166534}.b-inactive{background:#e5e7eb;color:#6b7280}
td form{display:inline;margin:0}button{font:inherit;font-size:12.5px;padding:4px 10px;border-radius:5px;
border:1px solid #d1d5db;background:#fff;cursor:pointer}button:hover{background:#f3f4f6}
button.primary{background:#2563eb;border-color:#2563eb;color:#fff}button.danger{color:#b91c1c;border-color:#fca5a5}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(380px,1fr));gap:14px}
.grid form{display:flex;flex-wrap:wrap;gap:6px;align-items:center;margin:6px 0}
.grid label{font-size:12px;color:#6b7280;width:100%;margin-top:4px}
input,select{font:inherit;font-size:13px;padding:4px 7px;border:1px solid #d1d5db;border-radius:5px;background:#fff}
input{width:130px}input.s{width:70px}.muted{color:#9ca3af}
"""


def _money(value: Any) -> str:
    return f"{value:,.2f}"


def _hidden(**fields: str) -> str:
    return "".join(f'<input type="hidden" name="{e(k)}" value="{e(v)}">' for k, v in fields.items())


def _button(label: str, action: str, org_id: str, css: str = "", confirm: bool = False, **fields: str) -> str:
    return (f'<form method="post" action="/_sandbox/ui">{_hidden(action=action, org_id=org_id, **fields)}'
            f'<button class="{css}">{e(label)}</button></form>')


def _org_card(sandbox: Sandbox, org: OrgData, selected: bool) -> str:
    top = sorted(org.api_calls.items(), key=lambda kv: -kv[1])[:4]
    by_op_429 = sorted((getattr(org, "http_429_by_op", None) or {}).items(), key=lambda kv: -kv[1])[:3]
    ops = " ".join(f"<code>{e(k)}</code> {v}" for k, v in top) or '<span class="muted">no API calls yet</span>'
    limited = (" · 429s: " + " ".join(f"<code>{e(k)}</code> {v}" for k, v in by_op_429)) if by_op_429 else ""
    o = org.org
    return (f'<a href="/_sandbox?org={e(o.organization_id)}" style="text-decoration:none;color:inherit">'
            f'<div class="card{" sel" if selected else ""}"><h3>{e(o.name)}</h3>'
            f'<div class="sub">{e(o.organization_id)} · {e(o.currency_code)} · {e(o.dc.upper())} DC · {e(o.plan)}</div>'
            f'<div class="nums"><div><b>{len(org.contacts)}</b>customers</div><div><b>{len(org.invoices)}</b>invoices</div>'
            f'<div><b>{len(org.payments)}</b>payments</div><div><b>{sum(org.api_calls.values())}</b>API calls</div>'
            f'<div><b>{org.http_429}</b>429s</div></div><div class="ops">{ops}{limited}</div></div></a>')


def _invoice_rows(sandbox: Sandbox, org: OrgData, limit: int = 12) -> str:
    today = sandbox.clock.today(org.org.time_zone)
    recent = sorted(org.invoices.values(), key=lambda i: (i.last_modified_time or i.created_time, i.invoice_id),
                    reverse=True)[:limit]
    oid = org.organization_id
    rows = []
    for inv in recent:
        status = inv.status_on(today)
        open_ = status not in ("void", "paid")
        actions = []
        if open_:
            actions += [_button("Pay balance", "payment", oid, "primary", invoice_id=inv.invoice_id),
                        _button("Credit", "credit", oid, invoice_id=inv.invoice_id),
                        _button("Write off", "writeoff", oid, invoice_id=inv.invoice_id)]
        if status != "void":
            actions.append(_button("Void", "void", oid, "danger", invoice_id=inv.invoice_id))
        actions.append(_button("Delete", "delete_invoice", oid, "danger", invoice_id=inv.invoice_id))
        rows.append(
            f"<tr><td><code>{e(inv.invoice_id)}</code></td><td>{e(inv.invoice_number)}</td><td>{e(inv.customer_name)}</td>"
            f'<td><span class="badge b-{e(status)}">{e(status.replace("_", " "))}</span></td>'
            f'<td class="num">{_money(inv.total)}</td><td class="num">{_money(inv.balance)}</td>'
            f"<td>{inv.due_date.isoformat()}</td><td>{' '.join(actions)}</td></tr>")
    if not rows:
        return '<p class="muted">No invoices yet — generate data below.</p>'
    return ("<table><tr><th>invoice_id</th><th>number</th><th>customer</th><th>status</th><th>total "
            f"({e(org.org.currency_code)})</th><th>balance</th><th>due</th><th>act as the user</th></tr>"
            + "".join(rows) + "</table>")


def _customer_rows(org: OrgData, limit: int = 8) -> str:
    recent = sorted(org.contacts.values(), key=lambda c: (c.last_modified_time or c.created_time, c.contact_id),
                    reverse=True)[:limit]
    oid = org.organization_id
    rows = [f"<tr><td><code>{e(c.contact_id)}</code></td><td>{e(c.contact_name)}</td><td>{e(c.email)}</td>"
            f'<td><span class="badge b-{e(c.status)}">{e(c.status)}</span></td><td>'
            + (_button("Deactivate", "inactive_contact", oid, contact_id=c.contact_id) + " " if c.status == "active" else "")
            + _button("Delete", "delete_contact", oid, "danger", contact_id=c.contact_id) + "</td></tr>"
            for c in recent]
    if not rows:
        return '<p class="muted">No customers yet.</p>'
    return ("<table><tr><th>contact_id</th><th>name</th><th>email</th><th>status</th><th>act as the user</th></tr>"
            + "".join(rows) + "</table>")


def render_page(sandbox: Sandbox, msg: str = "", org_id: str = "") -> str:
    """The whole page; ``org_id`` selects the organisation whose records are listed."""
    with sandbox.lock:
        orgs = list(sandbox.orgs.values())
        selected = sandbox.orgs.get(org_id) or (orgs[0] if orgs else None)
        cards = "".join(_org_card(sandbox, o, o is selected) for o in orgs)
        sel_id = selected.organization_id if selected else ""
        invoices = _invoice_rows(sandbox, selected) if selected else ""
        customers = _customer_rows(selected) if selected else ""
    options = "".join(f'<option value="{e(o.organization_id)}"{" selected" if o is selected else ""}>'
                      f'{e(o.organization_id)} · {e(o.org.name)}</option>' for o in orgs)
    org_select = f'<select name="org_id">{options}</select>'

    def form(label: str, action: str, fields: str, *, button: str, with_org: bool = True, css: str = "") -> str:
        return (f'<label>{e(label)}</label><form method="post" action="/_sandbox/ui">{_hidden(action=action)}'
                f'{org_select if with_org else ""}{fields}<button class="{css}">{e(button)}</button></form>')

    inv = '<input name="invoice_id" placeholder="invoice_id" required>'
    amt = '<input name="amount" placeholder="amount (blank = balance)" style="width:170px">'
    invoice_forms = "".join([
        form("Edit an invoice's amount or due date", "edit_invoice",
             inv + '<input name="amount" placeholder="new total" class="s" style="width:90px">'
                   '<input name="due_date" type="date" style="width:140px">', button="Edit invoice", css="primary"),
        form("Record a payment", "payment", inv + amt + '<input name="reference_number" placeholder="reference">',
             button="Record payment"),
        form("Apply a credit (a credit note for the amount)", "credit", inv + amt, button="Apply credit"),
        form("Write off / void / delete", "writeoff", inv, button="Write off"),
        form("", "void", inv, button="Void invoice", css="danger"),
        form("", "delete_invoice", inv, button="Delete invoice", css="danger"),
    ])
    customer_forms = "".join([
        form("Deactivate a customer", "inactive_contact", '<input name="contact_id" placeholder="contact_id" required>',
             button="Deactivate customer"),
        form("Delete a customer (refused while it has transactions, as Zoho)", "delete_contact",
             '<input name="contact_id" placeholder="contact_id" required>', button="Delete customer", css="danger"),
    ])
    org_forms = "".join([
        form("Create an organisation", "create_org",
             '<input name="name" placeholder="name" required><input name="currency_code" value="USD" class="s">'
             '<select name="dc"><option>us</option><option>eu</option></select>'
             '<select name="plan"><option>premium</option><option>professional</option><option>standard</option>'
             '<option>free</option></select>', button="Create organisation", with_org=False, css="primary"),
        form("Generate data (customers, invoices, years, seed)", "generate",
             '<input name="customers" value="25" class="s"><input name="invoices" value="200" class="s">'
             '<input name="years" value="2" class="s" style="width:50px"><input name="seed" placeholder="seed" class="s">',
             button="Generate data"),
        form("Limits (plan, per minute, daily, concurrent)", "limits",
             '<input name="plan" placeholder="plan" class="s"><input name="per_minute" placeholder="/min" class="s">'
             '<input name="daily" placeholder="daily" class="s"><input name="concurrency" placeholder="conc." class="s">',
             button="Set limits"),
        form("Counters and rate-limit windows", "reset_stats", "", button="Reset counters"),
    ])
    flash = ""
    if msg:
        err = msg.startswith(("Zoho error", "Invalid", "Unknown"))
        flash = f'<div class="msg{" err" if err else ""}">{e(msg)}</div>'
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>Zoho Books sandbox · admin</title>
<style>{CSS}</style></head><body>
<header><h1>Zoho Books sandbox</h1><span class="meta">sandbox time {e(sandbox.now().strftime("%Y-%m-%d %H:%M:%S %Z"))}
· <a href="/docs">admin API</a> · <a href="/_sandbox/requests">last requests</a> · <a href="/_sandbox/orgs">orgs JSON</a>
{f'· <a href="/_sandbox/orgs/{e(sel_id)}/stats">stats JSON</a>' if sel_id else ''}</span></header>
<main>{flash}<div class="orgs">{cards}</div>
<h2>Recent invoices of {e(selected.org.name) if selected else "—"}</h2>{invoices}
<h2>Recent customers</h2>{customers}
<h2>Act as the Zoho user</h2>
<div class="grid"><div class="card">{invoice_forms}</div><div class="card">{customer_forms}</div>
<div class="card">{org_forms}</div></div></main></body></html>"""
