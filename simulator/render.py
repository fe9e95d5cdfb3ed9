"""Text of every record, from string templates (no XML DOM: this is the hot path).

Each function returns one record's text; :mod:`simulator.writers` decides which file
it goes to.  Layouts mirror ``spec/samples``.
"""

from __future__ import annotations

from collections.abc import Sequence

from simulator.documents import ApItem, BillRange, Financing, GoodsReceipt, Invoice, Line, PoItem, Waybill
from simulator.money import annual_rate_text, chinese_amount, sap_amount
from simulator.money import fen_text as format_fen
from simulator.timefmt import compact_time, invoice_time, iso, offset_time, ymd
from simulator.world import Bank, Carrier, Company

XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'

_VAT_NAMES = {"01": "增值税专用发票", "02": "普通发票"}


def _fragments(c: Company) -> dict[str, str]:
    """Fixed XML of a company as seller, buyer, consignor, consignee (built once)."""
    t = c.texts
    if not t:
        r = c.region
        t["seller"] = (f"<SellerInformation><SellerIdNum>{c.uscc}</SellerIdNum><SellerName>{c.name}</SellerName>"
                       f"</SellerInformation>")
        t["buyer"] = (f"<BuyerInformation><BuyerIdNum>{c.uscc}</BuyerIdNum><BuyerName>{c.name}</BuyerName>"
                      f"</BuyerInformation>")
        t["consignor"] = (f"<ConsignorInfo><Consignor>{c.name}</Consignor><ConsignorID>{c.uscc}</ConsignorID>"
                          f"<PlaceOfLoading>{r.place}</PlaceOfLoading><CountrySubdivisionCode>{r.district_code}"
                          f"</CountrySubdivisionCode></ConsignorInfo>")
        t["consignee"] = (f"<ConsigneeInfo><Consignee>{c.name}</Consignee><ConsigneeID>{c.uscc}</ConsigneeID>"
                          f"<GoodsReceiptPlace>{r.place}</GoodsReceiptPlace><CountrySubdivisionCode>"
                          f"{r.district_code}</CountrySubdivisionCode></ConsigneeInfo>")
        t["bureau_code"] = f"1{r.province_code[:2]}00000000"
        t["bureau_name"] = f"国家税务总局{r.province}税务局"
        t["tag"] = f"SWEI{r.province_code[:2]}00"
    return t


def _tax_bureau(inv: Invoice) -> tuple[str, str]:
    t = _fragments(inv.seller)
    return t["bureau_code"], t["bureau_name"]


def _line(ln: Line, pct: bool, indent: str) -> str:
    p = ln.product
    return (
        f"{indent}{p.line_head}{ln.quantity}</Quantity><UnPrice>{ln.unit_price}</UnPrice>"
        f"<Amount>{format_fen(ln.amount)}</Amount><TaxRate>{p.rate_texts[pct]}</TaxRate>"
        f"<ComTaxAm>{format_fen(ln.tax)}</ComTaxAm>"
        f"<TotaltaxIncludedAmount>{format_fen(ln.amount + ln.tax)}</TotaltaxIncludedAmount>"
        f"{p.line_tail}"
    )


def _lines(inv: Invoice, indent: str) -> str:
    pct = inv.percent_rate
    if len(inv.lines) == 1:
        return _line(inv.lines[0], pct, indent)
    return "".join([_line(ln, pct, indent) for ln in inv.lines])


def _request_time(inv: Invoice) -> str:
    return iso(inv.day) if inv.date_only else invoice_time(inv.issued)


def _red(inv: Invoice, indent: str) -> str:
    if not inv.red_of:
        return ""
    return (f"{indent}<SpecificInformation><RedEInvoice><OriginalInvoiceCode>{inv.red_of}"
            f"</OriginalInvoiceCode></RedEInvoice></SpecificInformation>\n")


def invoice_in_batch(inv: Invoice) -> str:
    """An ``<EInvoice>`` element inside an ``<EInvoiceBatch>``."""
    st = _fragments(inv.seller)
    label = f"N{inv.red_of}" if inv.red_of else "Y"
    issued = invoice_time(inv.issued)
    return (
        f"  <EInvoice>\n"
        f"    <Header><EIid>{inv.no}</EIid><EInvoiceTag>{st['tag']}</EInvoiceTag><Version>0.32</Version>"
        f"<InherentLabel><InIssuType><LabelCode>{label}</LabelCode></InIssuType>"
        f"<GeneralOrSpecialVAT><LabelCode>{inv.vat_kind}</LabelCode></GeneralOrSpecialVAT></InherentLabel></Header>\n"
        f"    <EInvoiceData>\n"
        f"      {st['seller']}\n"
        f"      {_fragments(inv.buyer)['buyer']}\n"
        f"      <BasicInformation><TotalAmWithoutTax>{format_fen(inv.amount)}</TotalAmWithoutTax>"
        f"<TotalTaxAm>{format_fen(inv.tax)}</TotalTaxAm>"
        f"<TotalTax-includedAmount>{format_fen(inv.total)}</TotalTax-includedAmount>"
        f"<RequestTime>{issued[:10] if inv.date_only else issued}</RequestTime></BasicInformation>\n"
        f"{_lines(inv, '      ')}{_red(inv, '      ') if inv.red_of else ''}"
        f"      <AdditionalInformation><Remark>{inv.remark}</Remark></AdditionalInformation>\n"
        f"    </EInvoiceData>\n"
        f"    <TaxSupervisionInfo><InvoiceNumber>{inv.no}</InvoiceNumber><IssueTime>{issued}</IssueTime>"
        f"<TaxBureauCode>{st['bureau_code']}</TaxBureauCode><TaxBureauName>{st['bureau_name']}</TaxBureauName>"
        f"</TaxSupervisionInfo>\n"
        f"  </EInvoice>\n"
    )


def invoice_file(inv: Invoice) -> str:
    """A whole one-invoice file (root ``<EInvoice>``), in the fuller single-file layout."""
    code, bureau = _tax_bureau(inv)
    label, label_name = (f"N{inv.red_of}", "红字发票") if inv.red_of else ("Y", "蓝字发票")
    s, b = inv.seller, inv.buyer
    return (
        f"{XML_DECL}<EInvoice>\n"
        f"  <Header>\n"
        f"    <EIid>{inv.no}</EIid>\n"
        f"    <EInvoiceTag>{_fragments(inv.seller)['tag']}</EInvoiceTag>\n"
        f"    <Version>0.32</Version>\n"
        f"    <InherentLabel>\n"
        f"      <InIssuType><LabelCode>{label}</LabelCode><LabelName>{label_name}</LabelName></InIssuType>\n"
        f"      <EInvoiceType><LabelCode>01</LabelCode><LabelName>电子发票</LabelName></EInvoiceType>\n"
        f"      <GeneralOrSpecialVAT><LabelCode>{inv.vat_kind}</LabelCode>"
        f"<LabelName>{_VAT_NAMES[inv.vat_kind]}</LabelName></GeneralOrSpecialVAT>\n"
        f"    </InherentLabel>\n"
        f"  </Header>\n"
        f"  <EInvoiceData>\n"
        f"    <SellerInformation>\n"
        f"      <SellerIdNum>{s.uscc}</SellerIdNum>\n"
        f"      <SellerName>{s.name}</SellerName>\n"
        f"    </SellerInformation>\n"
        f"    <BuyerInformation>\n"
        f"      <BuyerIdNum>{b.uscc}</BuyerIdNum>\n"
        f"      <BuyerName>{b.name}</BuyerName>\n"
        f"    </BuyerInformation>\n"
        f"    <BasicInformation>\n"
        f"      <TotalAmWithoutTax>{format_fen(inv.amount)}</TotalAmWithoutTax>\n"
        f"      <TotalTaxAm>{format_fen(inv.tax)}</TotalTaxAm>\n"
        f"      <TotalTax-includedAmount>{format_fen(inv.total)}</TotalTax-includedAmount>\n"
        f"      <TotalTax-includedAmountInChinese>{chinese_amount(inv.total)}</TotalTax-includedAmountInChinese>\n"
        f"      <Drawer>{inv.drawer}</Drawer>\n"
        f"      <RequestTime>{_request_time(inv)}</RequestTime>\n"
        f"    </BasicInformation>\n"
        f"{_lines(inv, '    ')}{_red(inv, '    ')}"
        f"    <AdditionalInformation><Remark>{inv.remark}</Remark></AdditionalInformation>\n"
        f"  </EInvoiceData>\n"
        f"  <TaxSupervisionInfo>\n"
        f"    <InvoiceNumber>{inv.no}</InvoiceNumber>\n"
        f"    <IssueTime>{invoice_time(inv.issued)}</IssueTime>\n"
        f"    <TaxBureauCode>{code}</TaxBureauCode>\n"
        f"    <TaxBureauName>{bureau}</TaxBureauName>\n"
        f"  </TaxSupervisionInfo>\n"
        f"</EInvoice>\n"
    )


def waybill_header(carrier: Carrier, message_ref: str, sent: int) -> str:
    """Opening of a waybill file up to and including its ``<Header>``."""
    return (
        f"{XML_DECL}<Root>\n"
        f"  <Header>\n"
        f"    <MessageReferenceNumber>{message_ref}</MessageReferenceNumber>\n"
        f"    <DocumentName>电子路单</DocumentName>\n"
        f"    <SenderCode>{carrier.uscc}</SenderCode>\n"
        f"    <MessageSendingDateTime>{compact_time(sent)}</MessageSendingDateTime>\n"
        f"  </Header>\n"
    )


def waybill_body(w: Waybill) -> str:
    """One ``<Body>`` element."""
    received = compact_time(w.received) if w.received is not None else ""
    grams = w.grams
    return (
        f"  <Body>\n"
        f"    <ShippingNoteNumber>{w.no}</ShippingNoteNumber>\n"
        f"    <OriginalDocumentNumber>{w.order_no}</OriginalDocumentNumber>\n"
        f"{w.carrier.text}"
        f"    <ConsignmentDateTime>{compact_time(w.consigned)}</ConsignmentDateTime>\n"
        f"    <DespatchActualDateTime>{compact_time(w.despatched)}</DespatchActualDateTime>\n"
        f"    <GoodsReceiptDateTime>{received}</GoodsReceiptDateTime>\n"
        f"    {_fragments(w.consignor)['consignor']}\n"
        f"    {_fragments(w.consignee)['consignee']}\n"
        f"    <GoodsInfo><DescriptionOfGoods>{w.goods}</DescriptionOfGoods><Quantity>{w.quantity}</Quantity>"
        f"<MeaUnits>{w.unit}</MeaUnits><GoodsItemGrossWeight>{grams // 1000}.{grams % 1000:03d}</GoodsItemGrossWeight>"
        f"<TotalNumberOfPackages>{w.packages}</TotalNumberOfPackages></GoodsInfo>\n"
        f"    <Status>{w.status}</Status>\n"
        f"  </Body>\n"
    )


def _party(tag: str, name: str, uscc: str, account: str, bank: str) -> str:
    return (f"<{tag}><Nm>{name}</Nm><CmonId>{uscc}</CmonId>"
            f"<Acct><Id>{account}</Id><AcctSvcr>{bank}</AcctSvcr></Acct></{tag}>")


def _company_party(tag: str, c: Company | Bank) -> str:
    if isinstance(c, Bank):
        return _party(tag, c.name, c.uscc, c.account, c.cnaps)
    return _party(tag, c.name, c.uscc, c.account, c.account_bank)


def bill_record(r: BillRange) -> str:
    """One ``<CdInf>`` element."""
    parts = [
        f"  <CdInf>\n"
        f"    <CdNo>{r.cd_no}</CdNo>\n"
        f"    <CdRange>{r.start}-{r.end}</CdRange>\n"
        f"    <Tp>{r.bill_type}</Tp>\n"
        f'    <CdAmt Ccy="CNY">{format_fen(r.amount)}</CdAmt>\n'
        f"    <IsseDt>{iso(r.issue)}</IsseDt>\n"
        f"    <DueDt>{iso(r.due)}</DueDt>\n"
        f"    {_company_party('Drwr', r.drawer)}\n"
        f"    {_company_party('Accptr', r.acceptor)}\n"
        f"    {_company_party('Pyee', r.payee)}\n"
        f"    <BanEndrsmtMk>{'EM00' if r.transferable else 'EM01'}</BanEndrsmtMk>\n"
    ]
    for e in r.endorsements:
        parts.append(
            f"    <Endrsmt><Dt>{iso(e.day)}</Dt><Endrsr><CmonId>{e.endorser.uscc}</CmonId></Endrsr>"
            f"<Endrsee><CmonId>{e.endorsee.uscc}</CmonId></Endrsee></Endrsmt>\n"
        )
    d = r.discount
    if d is not None:
        parts.append(
            f"    <Dscnt><Dt>{iso(d.day)}</Dt><IntrstRate>{annual_rate_text(d.rate_bp)}</IntrstRate>"
            f"<Amt>{format_fen(d.amount)}</Amt><DscntBk>{d.bank.cnaps}</DscntBk></Dscnt>\n"
        )
    if r.pledge is not None:
        parts.append(f"    <Collztn><Dt>{iso(r.pledge.day)}</Dt><CollztnBk>{r.pledge.bank.cnaps}</CollztnBk></Collztn>\n")
    parts.append(f"    <CdSts>{r.status}</CdSts>\n    <CircSts>{r.circulation}</CircSts>\n")
    parts.extend(f"    <InvcNb>{no}</InvcNb>\n" for no in r.invoices)
    parts.append("  </CdInf>\n")
    return "".join(parts)


# ---- CSV rows (fields only; the writer joins them with the file's delimiter) --------

VENDOR_COLUMNS = ("LIFNR", "NAME1", "STCD5")
PO_COLUMNS = ("EBELN", "EBELP", "LIFNR", "BEDAT", "MATNR", "TXZ01", "MENGE", "MEINS", "NETPR", "NETWR")
GR_COLUMNS = ("MBLNR", "MJAHR", "ZEILE", "BWART", "EBELN", "EBELP", "MENGE", "BUDAT", "XBLNR")
AP_COLUMNS = ("BUKRS", "LIFNR", "GJAHR", "BELNR", "BUZEI", "BUDAT", "BLDAT", "BLART", "SHKZG", "WRBTR",
              "WAERS", "ZFBDT", "ZBD1T", "SGTXT", "EBELN", "AUGDT", "AUGBL")
STATUS_COLUMNS = ("fphm", "fpzt", "hcje", "ztbgrq")
EVENT_COLUMNS = ("event_id", "event_time", "event_type", "voucher_id", "parent_voucher_id", "issuer_uscc",
                 "from_uscc", "to_uscc", "amount", "maturity_date", "invoice_nos", "ap_ref", "financing_id")
FINANCING_COLUMNS = ("financing_id", "bank_code", "product", "applicant_uscc", "debtor_uscc", "asset_ref",
                     "invoice_nos", "face_amount", "financed_amount", "rate", "value_date", "maturity_date",
                     "status")
LABEL_COLUMNS = ("label_id", "business_date", "label", "check_id", "financing_id", "voucher_id",
                 "invoice_no", "bill_ref", "waybill_no", "note")


def vendor_row(c: Company) -> tuple[str, ...]:
    """vendors.csv fields."""
    return (c.lifnr, c.name, c.uscc)


def po_row(p: PoItem) -> tuple[str, ...]:
    """po_items.csv fields."""
    return (p.ebeln, p.ebelp, p.lifnr, ymd(p.bedat), p.product.matnr, p.product.text, str(p.quantity),
            p.product.sap_unit, format_fen(p.net_price), format_fen(p.net_value))


def gr_row(g: GoodsReceipt) -> tuple[str, ...]:
    """goods_receipts.csv fields (a 102 reversal's quantity carries a trailing minus)."""
    qty = f"{-g.quantity}-" if g.quantity < 0 else str(g.quantity)
    return (g.mblnr, str(g.mjahr), g.zeile, g.bwart, g.ebeln, g.ebelp, qty, ymd(g.budat), g.xblnr)


def ap_row(a: ApItem) -> tuple[str, ...]:
    """ap_open_items.csv fields."""
    return (a.bukrs, a.lifnr, str(a.gjahr), a.belnr, a.buzei, ymd(a.budat), ymd(a.bldat), a.blart, a.shkzg,
            sap_amount(a.amount), "CNY", ymd(a.zfbdt), str(a.zbd1t), a.sgtxt, a.ebeln,
            ymd(a.augdt) if a.augdt is not None else "", a.augbl)


def refs_text(refs: Sequence[tuple[str, int]]) -> str:
    """``no:amount;no:amount``."""
    return ";".join(f"{no}:{format_fen(amount)}" for no, amount in refs)


def financing_row(f: Financing) -> tuple[str, ...]:
    """financings.csv fields."""
    return (f.id, f.bank.cnaps, f.product, f.applicant, f.debtor, f.asset_ref, refs_text(f.refs),
            format_fen(f.face), format_fen(f.financed), annual_rate_text(f.rate_bp), iso(f.value_date),
            iso(f.maturity), f.status)


def event_time(ts: int) -> str:
    """Platform event time text."""
    return offset_time(ts)
