/* check
id = "BILL_EXCHANGE_CONFLICT"
family = "first"
category = "duplicate"
severity = "critical"
title = "Bill range not free at the exchange"
rule = '''
A bill financing whose range overlaps a range the bill exchange's record shows discounted by another
bank (critical), or by the same bank in another of its financings (a financing of that bank on the
bill valued on the exchange's discount date; critical), pledged (Collztn or CircSts TF0304;
critical), locked (TF0302), in recourse (TF0402) or — for an active financing — ended (TF0501, CdSts
CS05 or CS06) (high). A range the exchange shows discounted by the financing's own bank on its value
date is its own discount.
'''
*/
WITH bill_financings AS (
  SELECT * FROM live_financings WHERE product = {{Product.BILL}} AND asset_cd_no IS NOT NULL
), own_discounts AS (
  -- financings of ours the exchange's discount may belong to: same bank, same bill, valued that day
  SELECT financing_id, bank_code, asset_cd_no, asset_range_start, asset_range_end, value_date
  FROM cur_financings WHERE product = {{Product.BILL}} AND asset_cd_no IS NOT NULL
), conflicts AS (
  SELECT f.financing_id, f.asset_ref, f.bank_code, b.cd_no, b.range_start, b.range_end,
         list_filter(
           [CASE WHEN b.discount_bank IS NOT NULL AND b.discount_bank <> f.bank_code
                 THEN printf('discounted by bank %s on %s', b.discount_bank, coalesce(b.discount_date::VARCHAR, '?')) END,
            CASE WHEN b.discount_bank = f.bank_code AND b.discount_date IS DISTINCT FROM f.value_date
                      AND EXISTS (SELECT 1 FROM own_discounts o
                                  WHERE o.financing_id <> f.financing_id AND o.bank_code = f.bank_code
                                    AND o.asset_cd_no = b.cd_no AND o.value_date = b.discount_date
                                    AND o.asset_range_start <= b.range_end AND b.range_start <= o.asset_range_end)
                 THEN printf('discounted by the same bank %s on %s in another financing', b.discount_bank, b.discount_date) END,
            CASE WHEN b.pledge_bank IS NOT NULL OR b.pledge_date IS NOT NULL OR b.circulation_status = 'TF0304'
                 THEN printf('pledged%s%s (%s)', coalesce(' to bank ' || b.pledge_bank, ''),
                             coalesce(' on ' || b.pledge_date, ''), coalesce(b.circulation_status, 'Collztn')) END],
           lambda x: x IS NOT NULL) AS critical_reasons,
         list_filter(
           [CASE b.circulation_status WHEN 'TF0302' THEN 'locked (TF0302)' WHEN 'TF0402' THEN 'in recourse (TF0402)' END,
            CASE WHEN f.status = {{FinancingStatus.ACTIVE}} AND (b.circulation_status = 'TF0501' OR b.bill_status IN ('CS05', 'CS06'))
                 THEN printf('ended (%s)', concat_ws(', ', b.bill_status, b.circulation_status)) END],
           lambda x: x IS NOT NULL) AS high_reasons
  FROM bill_financings f
  JOIN cur_bills b ON b.cd_no = f.asset_cd_no
   AND b.range_start <= f.asset_range_end AND f.asset_range_start <= b.range_end
)
SELECT financing_id, NULL AS voucher_id, NULL AS invoice_no, asset_ref AS bill_ref, NULL AS waybill_no,
       CASE WHEN bool_or(len(critical_reasons) > 0) THEN {{Severity.CRITICAL}} ELSE {{Severity.HIGH}} END AS severity,
       printf('Financing %s at bank %s discounts bill %s, but the bill exchange shows %s.',
              financing_id, bank_code, asset_ref,
              array_to_string(list(printf('range %d-%d %s', range_start, range_end,
                                          array_to_string(critical_reasons || high_reasons, ', '))
                                   ORDER BY range_start), '; ')) AS detail,
       json_object('bank', bank_code,
                   'exchange_records', list(json_object('range', range_start || '-' || range_end,
                                                        'conflicts', critical_reasons || high_reasons)
                                            ORDER BY range_start)) AS evidence
FROM conflicts
WHERE len(critical_reasons) + len(high_reasons) > 0
GROUP BY financing_id, bank_code, asset_ref
