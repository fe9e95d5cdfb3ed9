WITH per_voucher AS (
  SELECT asset_voucher_id AS voucher_id,
         count(*) AS financings,
         list(financing_id ORDER BY financing_id) AS financing_ids,
         list(DISTINCT bank_code ORDER BY bank_code) AS bank_codes
  FROM live_financings WHERE product = 'VOUCHER' AND asset_voucher_id IS NOT NULL
  GROUP BY asset_voucher_id HAVING count(*) >= 2
)
SELECT f.financing_id, f.asset_voucher_id AS voucher_id, NULL AS invoice_no, NULL AS bill_ref,
       NULL AS waybill_no, NULL AS severity,
       printf('Voucher %s is financed by %d financings (%s) at bank(s) %s; this one advances ¥%s.',
              f.asset_voucher_id, v.financings, array_to_string(v.financing_ids, ', '),
              array_to_string(v.bank_codes, ', '), yuan(f.financed_amount_fen)) AS detail,
       json_object('financings', v.financing_ids, 'banks', v.bank_codes,
                   'face_here', yuan(f.face_amount_fen)) AS evidence
FROM live_financings f JOIN per_voucher v ON v.voucher_id = f.asset_voucher_id
WHERE f.product = 'VOUCHER'
