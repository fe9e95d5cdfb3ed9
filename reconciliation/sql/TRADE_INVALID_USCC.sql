/* check
id = "TRADE_INVALID_USCC"
family = "trade"
category = "fake_trade"
severity = "high"
title = "Invalid USCC on a trade document"
rule = '''
A USCC on a document behind a financing — the invoice's seller or buyer, the matched waybill's
consignor, consignee or carrier, the financed bill's drawer, acceptor or payee — is not a valid GB
32100 code (18 characters, 8 digits then the code alphabet, and the check character of the first
17).
'''
*/
WITH invalid AS (
  SELECT uscc, expected_check_char FROM trade_uscc_checks WHERE NOT valid
)
SELECT d.financing_id, NULL AS voucher_id, d.invoice_no, d.bill_ref, d.waybill_no, NULL AS severity,
       printf('%s behind financing %s carries invalid USCC(s): %s.', d.document, d.financing_id,
              array_to_string(list(printf('%s %s (%s)', d.role, d.uscc,
                CASE WHEN i.expected_check_char IS NOT NULL THEN 'check character should be ' || i.expected_check_char
                     ELSE 'not 8 digits and 10 code characters' END) ORDER BY d.role), '; ')) AS detail,
       json_object('document', d.document,
                   'invalid', list(json_object('role', d.role, 'uscc', d.uscc,
                                               'expected_check_char', i.expected_check_char) ORDER BY d.role)) AS evidence
FROM trade_document_usccs d JOIN invalid i USING (uscc)
GROUP BY d.financing_id, d.invoice_no, d.bill_ref, d.waybill_no, d.document
