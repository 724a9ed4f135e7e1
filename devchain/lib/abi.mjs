// Just enough ABI encoding for the mock token: addresses, uint256, bool, strings, function selectors.
const word = (hex) => hex.padStart(64, '0');

export const encodeAddress = (address) => word(address.toLowerCase().replace(/^0x/, ''));
export const encodeUint = (value) => word(BigInt(value).toString(16));
export const encodeBool = (value) => encodeUint(value ? 1 : 0);

/** Dynamic string: length word + UTF-8 bytes padded to a word. */
function encodeStringTail(s) {
  const hex = Buffer.from(s, 'utf8').toString('hex');
  return encodeUint(hex.length / 2) + hex.padEnd(Math.ceil(hex.length / 64) * 64, '0');
}

/** Constructor arguments (string name, string symbol, uint8 decimals). */
export function encodeTokenConstructor(name, symbol, decimals) {
  const nameTail = encodeStringTail(name);
  const head = encodeUint(96) + encodeUint(96 + nameTail.length / 2) + encodeUint(decimals);
  return head + nameTail + encodeStringTail(symbol);
}

// keccak256 selectors of the few functions used (fixed; checked against anvil's web3_sha3 in the tests).
export const SELECTORS = {
  'transfer(address,uint256)': 'a9059cbb',
  'mint(address,uint256)': '40c10f19',
  'setFrozen(bool)': '7e932d32',
  'balanceOf(address)': '70a08231',
};

export const call = (signature, ...encodedArgs) => `0x${SELECTORS[signature]}${encodedArgs.join('')}`;

/** Decimal token units ("10.01") to base units as a BigInt. */
export function toBaseUnits(amount, decimals) {
  const text = String(amount);
  if (!/^-?\d+(\.\d+)?$/.test(text)) throw new Error(`${text} is not a decimal amount`);
  const negative = text.startsWith('-');
  const [int, frac = ''] = text.replace('-', '').split('.');
  if (frac.length > decimals) throw new Error(`${text} has more than ${decimals} decimals`);
  const value = BigInt(int + frac.padEnd(decimals, '0'));
  return negative ? -value : value;
}

export const TRANSFER_TOPIC = '0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef';
