/* check
id = "DUP_VOUCHER_MULTI_FINANCED"
family = "first"
category = "duplicate"
severity = "critical"
title = "Voucher financed twice"
rule = '''
The same debt voucher is the asset of two or more live financings.
'''
*/
WITH claims AS (
  SELECT * FROM asset_claims WHERE product = {{Product.VOUCHER}} AND asset_voucher_id IS NOT NULL
), per_voucher AS (
  SELECT asset_voucher_id AS voucher_id,
         count(*) AS financings,
         list(coalesce(financing_id, '(unreadable id)') ORDER BY financing_id) AS financing_ids,
         list(DISTINCT bank_code ORDER BY bank_code) AS bank_codes,
         list(financing_id ORDER BY financing_id) FILTER (WHERE unreadable) AS unreadable_ids
  FROM claims GROUP BY asset_voucher_id HAVING count(*) >= 2
)
SELECT f.financing_id, f.asset_voucher_id AS voucher_id, NULL AS invoice_no, NULL AS bill_ref,
       NULL AS waybill_no, NULL AS severity,
       printf('Voucher %s is financed by %d financings (%s) at bank(s) %s; this one advances %s.',
              f.asset_voucher_id, v.financings, array_to_string(v.financing_ids, ', '),
              array_to_string(v.bank_codes, ', '),
              CASE WHEN f.unreadable THEN 'an amount its unreadable row does not tell'
                   ELSE '¥' || yuan(f.financed_amount_fen) END) AS detail,
       json_object('financings', v.financing_ids, 'banks', v.bank_codes,
                   'unreadable_rows', coalesce(v.unreadable_ids, [])) AS evidence
FROM claims f JOIN per_voucher v ON v.voucher_id = f.asset_voucher_id
