/* check
id = "DQ_FINANCING_AMOUNT_IMPLAUSIBLE"
family = "first"
category = "data_quality"
severity = "medium"
title = "Financing amount implausible"
rule = '''
A financing's face or financed amount is zero or negative, above financing_amount_ceiling_fen, or
more is financed than the face value: it is never clean.
'''
[params]
financing_amount_ceiling_fen = 100_000_000_000
*/
WITH judged AS (
  SELECT financing_id, face_amount_fen, financed_amount_fen,
         list_filter(
           [CASE WHEN face_amount_fen <= 0 THEN 'a face amount of zero or less' END,
            CASE WHEN financed_amount_fen <= 0 THEN 'a financed amount of zero or less' END,
            CASE WHEN greatest(face_amount_fen, financed_amount_fen) > getvariable('financing_amount_ceiling_fen')
                 THEN printf('an amount above the plausibility ceiling of ¥%s',
                             yuan(getvariable('financing_amount_ceiling_fen'))) END,
            CASE WHEN financed_amount_fen > face_amount_fen AND face_amount_fen > 0
                 THEN 'more financed than the face value' END],
           lambda x: x IS NOT NULL) AS reasons
  FROM cur_financings
)
SELECT financing_id, NULL AS voucher_id, NULL AS invoice_no, NULL AS bill_ref, NULL AS waybill_no, NULL AS severity,
       printf('Financing %s has %s (face ¥%s, financed ¥%s): it cannot be cleared with that amount.',
              financing_id, array_to_string(reasons, ' and '), yuan(face_amount_fen), yuan(financed_amount_fen)) AS detail,
       json_object('face', yuan(face_amount_fen), 'financed', yuan(financed_amount_fen),
                   'ceiling', yuan(getvariable('financing_amount_ceiling_fen')), 'implausible', reasons) AS evidence
FROM judged
WHERE len(reasons) > 0
