/* check
id = "DUP_BILL_RANGE_MULTI_FINANCED"
family = "first"
category = "duplicate"
severity = "critical"
title = "Bill sub-range financed twice"
rule = '''
Two live financings rest on sub-bill ranges of the same bill package that overlap (share at least
one ¥0.01 unit).
'''
*/
WITH bill_financings AS (
  SELECT financing_id, bank_code, asset_cd_no, asset_range_start, asset_range_end, asset_ref, unreadable,
         row_number() OVER (ORDER BY financing_id, asset_ref) AS claim
  FROM asset_claims WHERE product = {{Product.BILL}} AND asset_cd_no IS NOT NULL AND asset_range_start IS NOT NULL
), overlapping AS (
  SELECT a.financing_id, a.asset_ref, a.asset_cd_no, a.asset_range_start, a.asset_range_end,
         coalesce(b.financing_id, '(unreadable id)') AS other_id, b.asset_ref AS other_ref,
         b.bank_code AS other_bank, b.unreadable AS other_unreadable,
         least(a.asset_range_end, b.asset_range_end) - greatest(a.asset_range_start, b.asset_range_start) + 1 AS shared_units
  FROM bill_financings a JOIN bill_financings b
    ON a.asset_cd_no = b.asset_cd_no AND a.claim <> b.claim
   AND a.asset_range_start <= b.asset_range_end AND b.asset_range_start <= a.asset_range_end
)
SELECT financing_id, NULL AS voucher_id, NULL AS invoice_no, asset_ref AS bill_ref, NULL AS waybill_no,
       NULL AS severity,
       printf('Bill %s range %d-%d is also financed by %s; ¥%s of it is financed twice.',
              asset_cd_no, asset_range_start, asset_range_end,
              array_to_string(list(other_id || ' (' || other_ref || CASE WHEN other_unreadable THEN ', row unreadable' ELSE '' END || ')'
                                   ORDER BY other_id), ', '),
              yuan(max(shared_units))) AS detail,
       json_object('range', asset_range_start || '-' || asset_range_end,
                   'overlapping', list(json_object('financing_id', other_id, 'bill_ref', other_ref,
                                                   'bank', other_bank, 'shared', yuan(shared_units))
                                       ORDER BY other_id)) AS evidence
FROM overlapping
GROUP BY financing_id, asset_ref, asset_cd_no, asset_range_start, asset_range_end
