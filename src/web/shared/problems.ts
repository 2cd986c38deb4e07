import { ApiError, type Lang, type Problem } from './api';
import { formatFen } from './money';

/**
 * Every problem `code` of the API (PRODUCT.md §9, src/api/errors.ts) in plain words with what to
 * do, in the three languages. The cashier never sees a bare code; the server's `detail` is only a
 * small footnote for support.
 */
export interface Explained {
  message: string;
  fix: string;
  /** The server's own words, for support. */
  detail?: string;
}

type Texts = readonly [string, string, string];
type Row = { message: Texts; fix: Texts };

const at: Record<Lang, 0 | 1 | 2> = { 'zh-CN': 0, 'zh-TW': 1, en: 2 };

const num = (p: Problem, key: string): number | null => {
  const v = p[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
};

const minutesLeft = (p: Problem): number => {
  const s = num(p, 'retryAfterSeconds');
  if (s !== null) return Math.max(1, Math.ceil(s / 60));
  const until = typeof p.lockedUntil === 'string' ? Date.parse(p.lockedUntil) : Number.NaN;
  return Number.isFinite(until) ? Math.max(1, Math.ceil((until - Date.now()) / 60_000)) : 15;
};

function rowFor(p: Problem): Row {
  const code = p.code;
  switch (code) {
    case 'return_link_invalid':
      return {
        message: ['这个退货链接无效', '這個退貨連結無效', 'This return link is not valid'],
        fix: [
          '请重新扫描收银台上的退货二维码；如果仍然打不开，请向收银员要一个新的二维码。',
          '請重新掃描收銀台上的退貨二維碼；如果仍然打不開，請向收銀員要一個新的二維碼。',
          'Scan the return QR code at the counter again; if it still fails, ask the cashier for a new one.',
        ],
      };
    case 'return_link_expired':
      return {
        message: ['这个退货二维码已过期', '這個退貨二維碼已過期', 'This return QR code has expired'],
        fix: [
          '没有提交任何退货。请向收银员要一个新的退货二维码。',
          '沒有提交任何退貨。請向收銀員要一個新的退貨二維碼。',
          'Nothing was submitted. Ask the cashier for a new return QR code.',
        ],
      };
    case 'return_link_used':
      return {
        message: ['这个退货已经提交过了', '這個退貨已經提交過了', 'This return has already been submitted'],
        fix: [
          '每个退货二维码只能提交一次。请用提交后收到的查询链接查看退款进度。',
          '每個退貨二維碼只能提交一次。請用提交後收到的查詢連結查看退款進度。',
          'Each return QR code can be submitted once. Follow the refund with the status link you received.',
        ],
      };
    case 'return_canceled':
      return {
        message: ['商家已撤回这个退货', '商家已撤回這個退貨', 'The merchant withdrew this return'],
        fix: [
          '没有提交任何退货。如有疑问请咨询收银员。',
          '沒有提交任何退貨。如有疑問請洽詢收銀員。',
          'Nothing was submitted. Ask the cashier if you have questions.',
        ],
      };
    case 'return_not_open':
      return {
        message: ['这个退货已不能再修改', '這個退貨已不能再修改', 'This return can no longer be changed'],
        fix: [
          '它已经提交、撤回或过期。请刷新后查看它现在的状态。',
          '它已經提交、撤回或過期。請重新整理後查看它現在的狀態。',
          'It was submitted, withdrawn or has expired. Refresh to see where it stands.',
        ],
      };
    case 'return_inspection_required':
      return {
        message: ['请先验货', '請先驗貨', 'Inspect the returned goods first'],
        fix: [
          '这笔退款来自扫码退货：先记录验货结果（通过或拒绝），再审批退款。',
          '這筆退款來自掃碼退貨：先記錄驗貨結果（通過或拒絕），再審批退款。',
          'This refund comes from a QR return: record the inspection (accepted or rejected) before approving.',
        ],
      };
    case 'return_refused':
      return {
        message: [
          '商家暂时无法受理这笔退货',
          '商家暫時無法受理這筆退貨',
          'The shop cannot take this return now',
        ],
        fix: [
          '没有提交任何内容。请到收银台办理退货。',
          '沒有提交任何內容。請到收銀台辦理退貨。',
          'Nothing was submitted. Please ask at the counter.',
        ],
      };
    case 'tracking_link_invalid':
      return {
        message: ['这个查询链接无效', '這個查詢連結無效', 'This status link is not valid'],
        fix: [
          '请检查链接是否完整，或扫描退款凭证上的二维码。',
          '請檢查連結是否完整，或掃描退款憑證上的二維碼。',
          'Check that the link is complete, or scan the QR code on your refund voucher.',
        ],
      };
    case 'offline':
      return {
        message: ['无法连接到服务器', '無法連線到伺服器', 'The server cannot be reached'],
        fix: [
          '请检查终端的网线或 Wi-Fi 后重试；没有收到答复的退款不会重复扣款，重试是安全的。',
          '請檢查終端的網路線或 Wi-Fi 後重試；沒有收到回覆的退款不會重複扣款，重試是安全的。',
          "Check the terminal's cable or Wi-Fi and try again; retrying is safe, nothing is done twice.",
        ],
      };
    case 'unauthenticated': {
      const left = num(p, 'attemptsLeft');
      if (left !== null)
        return {
          message: ['操作员号或密码错误', '操作員號或密碼錯誤', 'Wrong operator number or password'],
          fix: [
            `请重新输入；还可尝试 ${left} 次，之后将被锁定。`,
            `請重新輸入；還可嘗試 ${left} 次，之後將被鎖定。`,
            `Type them again; ${left} more ${left === 1 ? 'try' : 'tries'} before the operator is locked.`,
          ],
        };
      return {
        message: ['需要重新签到', '需要重新簽到', 'Sign in again'],
        fix: [
          '登录已失效或操作员号、密码不对，请重新签到。',
          '登入已失效或操作員號、密碼不對，請重新簽到。',
          'The session ended or the number or password is wrong: sign in again.',
        ],
      };
    }
    case 'operator_locked': {
      const n = minutesLeft(p);
      return {
        message: [
          '该操作员因多次输错密码已被锁定',
          '該操作員因多次輸錯密碼已被鎖定',
          'This operator is locked after too many wrong passwords',
        ],
        fix: [
          `请 ${n} 分钟后再试，或请管理员解锁。`,
          `請 ${n} 分鐘後再試，或請管理員解鎖。`,
          `Try again in ${n} minute${n === 1 ? '' : 's'}, or ask an admin to unlock it.`,
        ],
      };
    }
    case 'supervisor_password_invalid': {
      const left = num(p, 'attemptsLeft');
      return {
        message: [
          '主管工号或退款密码错误',
          '主管工號或退款密碼錯誤',
          'Wrong supervisor number or refund password',
        ],
        fix:
          left !== null
            ? [
                `请主管重新输入；还可尝试 ${left} 次，之后该主管将被锁定。`,
                `請主管重新輸入；還可嘗試 ${left} 次，之後該主管將被鎖定。`,
                `The supervisor may try again: ${left} more ${left === 1 ? 'try' : 'tries'} before they are locked.`,
              ]
            : ['请主管重新输入。', '請主管重新輸入。', 'The supervisor may try again.'],
      };
    }
    case 'supervisor_locked': {
      const n = minutesLeft(p);
      return {
        message: [
          '主管因多次输错退款密码已被锁定',
          '主管因多次輸錯退款密碼已被鎖定',
          'The supervisor is locked after too many wrong passwords',
        ],
        fix: [
          `还需等待 ${n} 分钟；也可以请另一位主管授权。`,
          `還需等待 ${n} 分鐘；也可以請另一位主管授權。`,
          `${n} minute${n === 1 ? '' : 's'} left; another supervisor can approve instead.`,
        ],
      };
    }
    case 'same_approver':
      return {
        message: [
          '两次授权来自同一位主管',
          '兩次授權來自同一位主管',
          'Both approvals came from the same supervisor',
        ],
        fix: [
          '大额退款需要两位不同的主管，请另一位主管输入工号和密码。',
          '大額退款需要兩位不同的主管，請另一位主管輸入工號和密碼。',
          'A large refund needs two different supervisors: ask another one.',
        ],
      };
    case 'approver_not_authorised':
      return {
        message: [
          '该工号不是主管，不能授权退款',
          '該工號不是主管，不能授權退款',
          'This operator is not a supervisor and cannot approve',
        ],
        fix: [
          '请由主管输入其工号和退款密码。',
          '請由主管輸入其工號和退款密碼。',
          'Ask a supervisor to enter their number and refund password.',
        ],
      };
    case 'forbidden':
      return {
        message: ['当前操作员无权进行此操作', '目前操作員無權進行此操作', 'Your role may not do this'],
        fix: [
          '请签退后由主管或管理员签到操作。',
          '請簽退後由主管或管理員簽到操作。',
          'Sign out and let a supervisor or admin sign in.',
        ],
      };
    case 'not_found':
      return {
        message: ['没有找到', '沒有找到', 'Not found'],
        fix: [
          '请核对订单号或凭证号，或按日期、金额、卡号后四位查找。',
          '請核對訂單號或憑證號，或按日期、金額、卡號後四位查找。',
          'Check the order or voucher number, or search by date, amount or card last four.',
        ],
      };
    case 'refunds_disabled':
      return {
        message: ['商户已关闭退款功能', '商戶已關閉退款功能', 'Refunds are switched off for this shop'],
        fix: [
          '请管理员在后台的退款政策中开启退款。',
          '請管理員在後台的退款政策中開啟退款。',
          'An admin can switch them on in the back office policy.',
        ],
      };
    case 'refund_exceeds_refundable': {
      const amount = num(p, 'refundableAmount');
      const qty = num(p, 'refundableQty');
      const sku = typeof p.sku === 'string' ? p.sku : '';
      if (qty !== null)
        return {
          message: [
            `商品 ${sku} 只剩 ${qty} 件可退`,
            `商品 ${sku} 只剩 ${qty} 件可退`,
            `Only ${qty} of ${sku} can still be refunded`,
          ],
          fix: [
            `请把数量改为 ${qty} 件以内。`,
            `請把數量改為 ${qty} 件以內。`,
            `Change the quantity to ${qty} or less.`,
          ],
        };
      if (amount === 0)
        return {
          message: ['这笔交易已没有可退金额', '這筆交易已沒有可退金額', 'Nothing is left to refund'],
          fix: [
            '已全部退款或正在退款中，无需再退；可在交易查询中查看。',
            '已全部退款或正在退款中，無需再退；可在交易查詢中查看。',
            'It is refunded or being refunded; see Transactions.',
          ],
        };
      const max = amount !== null ? formatFen(amount) : '';
      return {
        message: [
          `退款金额超过可退金额 ${max}`,
          `退款金額超過可退金額 ${max}`,
          `The refund is more than the refundable ${max}`,
        ],
        fix: [`请改为 ${max} 以内。`, `請改為 ${max} 以內。`, `Enter ${max} or less.`],
      };
    }
    case 'refund_window_expired': {
      const d = num(p, 'refundWindowDays');
      return {
        message: [
          `已超过退款期限${d !== null ? `（${d} 天）` : ''}`,
          `已超過退款期限${d !== null ? `（${d} 天）` : ''}`,
          `Past the refund window${d !== null ? ` (${d} days)` : ''}`,
        ],
        fix: [
          '终端不能再退这笔交易，请请示店长，通过现金或银行转账等方式处理。',
          '終端不能再退這筆交易，請請示店長，以現金或銀行轉帳等方式處理。',
          'The terminal cannot refund it any more; ask the manager about a cash or bank-transfer refund.',
        ],
      };
    }
    case 'payment_not_completed':
      return {
        message: [
          '原交易未完成或已撤销',
          '原交易未完成或已撤銷',
          'The original payment is not completed or was voided',
        ],
        fix: [
          '顾客没有被扣款，无需退款；请在交易查询中核对原交易状态。',
          '顧客沒有被扣款，無需退款；請在交易查詢中核對原交易狀態。',
          'The customer was not charged, so there is nothing to refund; check it in Transactions.',
        ],
      };
    case 'reason_required':
      return {
        message: ['请写明退款原因', '請寫明退款原因', 'A reason is needed'],
        fix: ['选择"其它"时需要写明原因。', '選擇「其他」時需要寫明原因。', 'With "Other", write why.'],
      };
    case 'reason_not_allowed':
      return {
        message: ['该退款原因未启用', '該退款原因未啟用', 'This reason is not in use'],
        fix: [
          '请选择其他原因，或请管理员在退款政策中启用。',
          '請選擇其他原因，或請管理員在退款政策中啟用。',
          'Choose another reason, or ask an admin to allow it.',
        ],
      };
    case 'method_not_allowed':
      return {
        message: ['该退款方式未开放', '該退款方式未開放', 'This refund method is not allowed'],
        fix: ['请选择原路退回。', '請選擇原路退回。', 'Use the original route.'],
      };
    case 'refund_exceeds_limit': {
      const max = formatFen(num(p, 'maxRefundAmount') ?? 0);
      return {
        message: [
          `超过单笔退款上限 ${max}`,
          `超過單筆退款上限 ${max}`,
          `More than the per-refund limit of ${max}`,
        ],
        fix: [
          `请分成多笔、每笔不超过 ${max}，或请管理员调整上限。`,
          `請分成多筆、每筆不超過 ${max}，或請管理員調整上限。`,
          `Split it into refunds of ${max} or less, or ask an admin to raise the limit.`,
        ],
      };
    }
    case 'daily_limit_exceeded': {
      const limit = formatFen(num(p, 'dailyRefundLimit') ?? 0);
      const used = formatFen(num(p, 'usedToday') ?? 0);
      return {
        message: [
          `超过今日退款总额上限 ${limit}（今日已退 ${used}）`,
          `超過今日退款總額上限 ${limit}（今日已退 ${used}）`,
          `Over today's refund limit of ${limit} (${used} refunded today)`,
        ],
        fix: [
          '请明天再退，或请管理员调整每日上限。',
          '請明天再退，或請管理員調整每日上限。',
          'Refund tomorrow, or ask an admin to raise the daily limit.',
        ],
      };
    }
    case 'void_not_allowed':
      return {
        message: ['这笔交易不能撤销', '這筆交易不能撤銷', 'This payment can no longer be voided'],
        fix: [
          '撤销只限当天、未结算且未退过款的交易；请改用"退货"退款。',
          '撤銷只限當天、未結算且未退過款的交易；請改用「退貨」退款。',
          'Voids are for same-day payments not settled and not refunded: make a refund instead.',
        ],
      };
    case 'adjustment_amount_mismatch':
      return {
        message: [
          '原金额与订单当前金额不一致',
          '原金額與訂單目前金額不一致',
          "The original amount is not the order's current amount",
        ],
        fix: [
          '请按订单当前金额输入原金额（可在交易查询中核对）。',
          '請按訂單目前金額輸入原金額（可在交易查詢中核對）。',
          "Enter the order's current amount as the original (see Transactions).",
        ],
      };
    case 'idempotency_key_reused':
      return {
        message: [
          '这次提交与之前确认的内容不一致',
          '這次提交與之前確認的內容不一致',
          'This differs from what was confirmed before',
        ],
        fix: ['请返回重新确认后再提交。', '請返回重新確認後再提交。', 'Go back and confirm again.'],
      };
    case 'insufficient_merchant_funds': {
      const avail = num(p, 'availableAmount');
      return {
        message: [
          '商户可用资金不足，无法退款',
          '商戶可用資金不足，無法退款',
          "The shop's available funds do not cover this refund",
        ],
        fix: [
          `${avail !== null ? `当前可用 ${formatFen(avail)}；` : ''}请商户向结算账户补足资金后再退，或联系收单机构。没有发生任何扣款。`,
          `${avail !== null ? `目前可用 ${formatFen(avail)}；` : ''}請商戶向結算帳戶補足資金後再退，或聯絡收單機構。沒有發生任何扣款。`,
          `${avail !== null ? `${formatFen(avail)} available; ` : ''}top up the settlement account and refund again, or call the acquirer. Nothing was taken.`,
        ],
      };
    }
    case 'network_unavailable':
      return {
        message: [
          '无法连接银联 / 收单网络',
          '無法連線銀聯 / 收單網路',
          'The payment network cannot be reached',
        ],
        fix: [
          '请检查网络后重试；已授权的退款会在网络恢复后自动提交。',
          '請檢查網路後重試；已授權的退款會在網路恢復後自動提交。',
          'Check the network and try again; approved refunds are sent when it is back.',
        ],
      };
    case 'invalid_state_transition':
      return {
        message: [
          '这笔退款当前状态下不能这样操作',
          '這筆退款目前狀態下不能這樣操作',
          'Not possible in the current state',
        ],
        fix: [
          '请在交易查询中查看最新状态。',
          '請在交易查詢中查看最新狀態。',
          'See its latest state in Transactions.',
        ],
      };
    case 'currency_mismatch':
      return {
        message: ['币种不一致', '幣別不一致', 'Currency does not match'],
        fix: ['本商户只收人民币。', '本商戶只收人民幣。', 'This shop takes CNY only.'],
      };
    case 'duplicate_order':
      return {
        message: ['订单号已存在', '訂單號已存在', 'This order number already has a payment'],
        fix: ['请换一个订单号。', '請換一個訂單號。', 'Use another order number.'],
      };
    case 'idempotency_key_in_use':
    case 'operation_in_progress':
      return {
        message: [
          '这笔订单正在处理另一项操作',
          '這筆訂單正在處理另一項操作',
          'Another operation on this order is still in progress',
        ],
        fix: [
          '请等几秒钟，在交易查询中看到结果后再试。',
          '請等幾秒鐘，在交易查詢中看到結果後再試。',
          'Wait a few seconds, check Transactions for its result, then try again.',
        ],
      };
    case 'rate_limited':
      return {
        message: ['操作太频繁', '操作太頻繁', 'Too many attempts in a short time'],
        fix: [
          `请 ${minutesLeft(p)} 分钟后再试。`,
          `請 ${minutesLeft(p)} 分鐘後再試。`,
          `Try again in ${minutesLeft(p)} minute(s).`,
        ],
      };
    case 'refund_at_network':
      return {
        message: [
          '退款已提交到银行，不能再撤回',
          '退款已提交到銀行，不能再撤回',
          'The refund is already with the bank and can no longer be canceled',
        ],
        fix: [
          '请等待结果：成功则钱款退回顾客，失败则金额自动释放。',
          '請等待結果：成功則款項退回顧客，失敗則金額自動釋放。',
          'Wait for its result: if it succeeds the customer is paid; if it fails the amount is released by itself.',
        ],
      };
    case 'charge_needs_card':
      return {
        message: [
          '银行卡订单不能直接补收差额',
          '銀行卡訂單不能直接補收差額',
          'A card order cannot be charged more directly',
        ],
        fix: [
          '请让顾客再次刷卡，把差额作为一笔新的收款。',
          '請讓顧客再次刷卡，把差額作為一筆新的收款。',
          'Have the customer present the card again and take the difference as a new sale.',
        ],
      };
    case 'fee_exceeds_amount':
      return {
        message: ['手续费不低于退款金额', '手續費不低於退款金額', 'The handling fee takes the whole refund'],
        fix: [
          '退款金额须大于手续费；请调整金额或请管理员修改手续费规则。',
          '退款金額須大於手續費；請調整金額或請管理員修改手續費規則。',
          'Refund more than the fee, or ask an admin to change the fee rule.',
        ],
      };
    case 'office_not_allowed':
      return {
        message: ['收银员不能登录后台', '收銀員不能登入後台', 'Cashiers cannot sign in to the back office'],
        fix: [
          '后台只对主管和管理员开放；收银员请在收银台签到。',
          '後台只對主管和管理員開放；收銀員請在收銀台簽到。',
          'The back office is for supervisors and admins; cashiers sign in at the terminal.',
        ],
      };
    case 'password_too_weak': {
      const min = num(p, 'minLength');
      return {
        message: ['密码太短', '密碼太短', 'The password is too short'],
        fix:
          min !== null
            ? [
                `该角色的密码至少需要 ${min} 个字符，请重新输入。`,
                `該角色的密碼至少需要 ${min} 個字元，請重新輸入。`,
                `This role needs a password of at least ${min} characters: type a longer one.`,
              ]
            : ['请换一个更长的密码。', '請換一個更長的密碼。', 'Choose a longer password.'],
      };
    }
    case 'password_required': {
      const min = num(p, 'minLength') ?? 6;
      return {
        message: [
          '升级为主管或管理员需要设置新密码',
          '升級為主管或管理員需要設定新密碼',
          'A supervisor or admin needs a new password',
        ],
        fix: [
          `收银员的密码可能只有 4 位，升级后会成为退款密码；请为此人输入两次至少 ${min} 个字符的新密码。`,
          `收銀員的密碼可能只有 4 位，升級後會成為退款密碼；請為此人輸入兩次至少 ${min} 個字元的新密碼。`,
          `A cashier's password may be only 4 characters and would become a refund password: type a new one of at least ${min} characters twice.`,
        ],
      };
    }
    case 'operator_exists':
      return {
        message: ['该操作员号已存在', '該操作員號已存在', 'An operator with this number exists'],
        fix: [
          '请换一个操作员号；要修改已有操作员，请在列表中选择他。',
          '請換一個操作員號；要修改已有操作員，請在列表中選擇他。',
          'Choose another number; to change the existing operator, pick them in the list.',
        ],
      };
    case 'last_admin':
      return {
        message: [
          '这是商户最后一位启用的管理员',
          '這是商戶最後一位啟用的管理員',
          "This is the merchant's last enabled admin",
        ],
        fix: [
          '请先把另一位操作员设为管理员，再停用或降级此人。',
          '請先把另一位操作員設為管理員，再停用或降級此人。',
          'Make another operator an admin first, then disable or demote this one.',
        ],
      };
    case 'self_change_not_allowed':
      return {
        message: [
          '管理员不能停用或降级自己',
          '管理員不能停用或降級自己',
          'Admins cannot disable or demote themselves',
        ],
        fix: ['请由另一位管理员操作。', '請由另一位管理員操作。', 'Ask another admin to do it.'],
      };
    case 'session_password_invalid':
      return {
        message: ['操作员号或密码错误', '操作員號或密碼錯誤', 'Wrong operator number or password'],
        fix: ['请重新输入。', '請重新輸入。', 'Type them again.'],
      };
    case 'bank_details_mismatch':
      return p.field === 'name'
        ? {
            message: ['两次输入的户名不一致', '兩次輸入的戶名不一致', "The two holder's names differ"],
            fix: [
              '没有发起退款；请向顾客再次核对户名后重新输入两次。',
              '沒有發起退款；請向顧客再次核對戶名後重新輸入兩次。',
              'No refund was made: check the name with the customer and type it twice again.',
            ],
          }
        : {
            message: [
              '两次输入的银行账号不一致',
              '兩次輸入的銀行帳號不一致',
              'The two account numbers differ',
            ],
            fix: [
              '没有发起退款；请向顾客再次核对账号后重新输入两次。',
              '沒有發起退款；請向顧客再次核對帳號後重新輸入兩次。',
              'No refund was made: check the account with the customer and type it twice again.',
            ],
          };
    case 'review_checklist_incomplete':
      return {
        message: ['审核清单未完成', '審核清單未完成', 'The review checklist is not complete'],
        fix: [
          '请核对凭证与交易记录、退款金额后勾选，再批准。',
          '請核對憑證與交易記錄、退款金額後勾選，再批准。',
          'Check the voucher against the record and the amount, tick both, then approve.',
        ],
      };
    case 'evidence_type_unsupported':
      return {
        message: ['不支持这种文件', '不支援這種檔案', 'This kind of file is not taken'],
        fix: [
          '请上传 JPEG、PNG 或 WebP 照片。',
          '請上傳 JPEG、PNG 或 WebP 照片。',
          'Upload a JPEG, PNG or WebP photo.',
        ],
      };
    case 'evidence_too_large':
      return {
        message: ['照片太大', '照片太大', 'The photo is too large'],
        fix: [
          '每张照片不超过 2 MB，请压缩后重试。',
          '每張照片不超過 2 MB，請壓縮後重試。',
          'Each photo may be 2 MB at most: make it smaller and try again.',
        ],
      };
    case 'evidence_limit':
      return {
        message: ['照片数量已达上限', '照片數量已達上限', 'No more photos can be added'],
        fix: [
          '这笔退款已保存了允许的最多照片。',
          '這筆退款已保存了允許的最多照片。',
          'This refund already keeps as many photos as it may.',
        ],
      };
    case 'idempotency_key_required':
    case 'conflicting_references':
    case 'validation_failed':
      return {
        message: ['输入的内容不正确', '輸入的內容不正確', 'Something entered is not valid'],
        fix: ['请检查后重新输入。', '請檢查後重新輸入。', 'Check it and enter it again.'],
      };
    case 'internal_error':
      return {
        message: [
          '系统出错了，没有做任何改动',
          '系統出錯了，沒有做任何變更',
          'Something went wrong; nothing was changed',
        ],
        fix: [
          '请稍后重试；多次出现请联系技术支持。',
          '請稍後重試；多次出現請聯絡技術支援。',
          'Try again shortly; if it keeps happening, call support.',
        ],
      };
    default:
      return {
        message: ['操作未能完成', '操作未能完成', 'That did not work'],
        fix: [
          '请重试；多次出现请联系技术支持。',
          '請重試；多次出現請聯絡技術支援。',
          'Try again; if it keeps happening, call support.',
        ],
      };
  }
}

export function explain(err: unknown, lang: Lang): Explained {
  const problem: Problem =
    err instanceof ApiError ? err.problem : { status: 0, code: 'internal_error', detail: String(err) };
  const row = rowFor(problem);
  const i = at[lang];
  return {
    message: row.message[i],
    fix: row.fix[i],
    ...(problem.detail ? { detail: problem.detail } : {}),
  };
}
