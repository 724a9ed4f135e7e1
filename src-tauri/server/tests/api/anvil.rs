//! A real anvil node (npm `@foundry-rs/anvil`) on a random loopback port with chain id 56 and BSC-like
//! finality (`--slots-in-an-epoch 1`: finalized = head − 2), plus the mock stablecoins compiled from
//! `devchain/contracts/MockStablecoin.sol` (artifact in `devchain/artifacts/`). Raw JSON-RPC: anvil's
//! dev accounts are unlocked, so nothing here holds a key.

use std::{
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use alloy::{
    primitives::{keccak256, Address, U256},
    sol_types::SolValue,
};
use serde_json::{json, Value};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn anvil_binary() -> PathBuf {
    let path = repo_root().join("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil");
    assert!(
        path.exists(),
        "anvil not found at {} — run `npm ci` first",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running anvil; killed on drop.
pub(crate) struct Anvil {
    pub port: u16,
    child: Option<Child>,
    state: tempfile::TempDir,
    client: reqwest::Client,
    /// BSC-like finality (`--slots-in-an-epoch 1`); off: anvil's default (finalized = head − 64).
    fast_finality: bool,
    chain_id: u64,
}

/// anvil's dev accounts: #0 deploys, #1 is another shop, #2 is the customer.
pub(crate) const DEPLOYER: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
pub(crate) const CUSTOMER: &str = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
pub(crate) const STRANGER: &str = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";

impl Anvil {
    pub(crate) async fn start() -> Self {
        Self::start_with(true).await
    }

    /// A second chain beside BSC's, e.g. 137 (Polygon PoS).
    pub(crate) async fn start_chain(chain_id: u64) -> Self {
        let mut anvil = Self::new(true);
        anvil.chain_id = chain_id;
        anvil.spawn().await;
        anvil
    }

    /// anvil with its default epoch: the `finalized` block lags the head by 64 blocks.
    pub(crate) async fn start_with_default_epoch() -> Self {
        Self::start_with(false).await
    }

    async fn start_with(fast_finality: bool) -> Self {
        let mut anvil = Self::new(fast_finality);
        anvil.spawn().await;
        anvil
    }

    fn new(fast_finality: bool) -> Self {
        Self {
            port: free_port(),
            child: None,
            state: tempfile::tempdir().unwrap(),
            client: reqwest::Client::new(),
            fast_finality,
            chain_id: 56,
        }
    }

    async fn spawn(&mut self) {
        let mut command = Command::new(anvil_binary());
        let chain_id = self.chain_id.to_string();
        command.args(["--host", "127.0.0.1", "--chain-id", &chain_id, "--silent"]);
        if self.fast_finality {
            command.args(["--slots-in-an-epoch", "1"]);
        }
        let child = command
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--state")
            .arg(self.state.path().join("state.json"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("anvil starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.try_call("eth_chainId", json!([])).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("anvil did not answer on port {}", self.port);
    }

    /// Stops the node gracefully (it saves its state) — the endpoint is gone until [`Anvil::restart`].
    pub(crate) async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            Command::new("kill")
                .arg("-INT")
                .arg(child.id().to_string())
                .status()
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts again on the same port with the saved chain.
    pub(crate) async fn restart(&mut self) {
        self.spawn().await;
    }

    pub(crate) fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub(crate) fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    async fn try_call(&self, method: &str, params: Value) -> Result<Value, String> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let response: Value = self
            .client
            .post(self.http_url())
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        match response.get("error") {
            Some(e) => Err(e.to_string()),
            None => Ok(response["result"].clone()),
        }
    }

    pub(crate) async fn call(&self, method: &str, params: Value) -> Value {
        self.try_call(method, params)
            .await
            .unwrap_or_else(|e| panic!("{method} failed: {e}"))
    }

    pub(crate) async fn block_number(&self) -> u64 {
        u64::from_str_radix(
            self.call("eth_blockNumber", json!([]))
                .await
                .as_str()
                .unwrap()
                .trim_start_matches("0x"),
            16,
        )
        .unwrap()
    }

    pub(crate) async fn mine(&self, blocks: u64) {
        self.call("anvil_mine", json!([format!("0x{blocks:x}")]))
            .await;
    }

    /// Sends a transaction from an unlocked account and returns its hash without waiting for it to
    /// be mined.
    pub(crate) async fn send_only(&self, from: &str, to: Option<Address>, data: Vec<u8>) -> Value {
        let mut tx = json!({"from": from, "data": format!("0x{}", hex(&data)), "gas": "0x500000"});
        if let Some(to) = to {
            tx["to"] = json!(to.to_checksum(None));
        }
        self.call("eth_sendTransaction", json!([tx])).await
    }

    /// `token.transfer(to, value)` from `from`, not waiting for it to be mined; returns the hash.
    pub(crate) async fn transfer_only(
        &self,
        from: &str,
        token: Address,
        to: &str,
        value: U256,
    ) -> Value {
        let mut data = keccak256("transfer(address,uint256)".as_bytes())[..4].to_vec();
        data.extend((addr(to), value).abi_encode_params());
        self.send_only(from, Some(token), data).await
    }

    /// Mines each transaction in its own block at once (anvil's default), or only on `mine`.
    pub(crate) async fn set_automine(&self, on: bool) {
        self.call("evm_setAutomine", json!([on])).await;
    }

    /// The receipt of a mined transaction.
    pub(crate) async fn receipt(&self, hash: &Value) -> Value {
        self.call("eth_getTransactionReceipt", json!([hash])).await
    }

    /// Sends a transaction from an unlocked account and returns its receipt.
    pub(crate) async fn send(&self, from: &str, to: Option<Address>, data: Vec<u8>) -> Value {
        let hash = self.send_only(from, to, data).await;
        for _ in 0..100 {
            let receipt = self.call("eth_getTransactionReceipt", json!([hash])).await;
            if !receipt.is_null() {
                return receipt;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("transaction {hash} not mined");
    }

    /// Deploys a mock stablecoin (18 decimals unless told) and mints 1,000,000 to the customer.
    pub(crate) async fn deploy_token(&self, name: &str, symbol: &str, decimals: u8) -> Address {
        let path = std::env::var("STABLEPAY_TOKEN_ARTIFACT")
            .map(PathBuf::from)
            .unwrap_or_else(|_| repo_root().join("devchain/artifacts/MockStablecoin.json"));
        let artifact: Value = serde_json::from_str(
            &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
        )
        .unwrap();
        let mut code = decode_hex(artifact["bytecode"].as_str().unwrap());
        // uint8 encodes as a 32-byte word, like uint256.
        code.extend(
            (name.to_string(), symbol.to_string(), U256::from(decimals)).abi_encode_params(),
        );
        let receipt = self.send(DEPLOYER, None, code).await;
        let token: Address = receipt["contractAddress"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        self.call_token(
            DEPLOYER,
            token,
            "mint(address,uint256)",
            (addr(CUSTOMER), units("1000000", decimals)).abi_encode_params(),
        )
        .await;
        token
    }

    /// Calls `signature` on `token` from `from` with ABI-encoded `args`; returns the receipt.
    pub(crate) async fn call_token(
        &self,
        from: &str,
        token: Address,
        signature: &str,
        args: Vec<u8>,
    ) -> Value {
        let mut data = keccak256(signature.as_bytes())[..4].to_vec();
        data.extend(args);
        self.send(from, Some(token), data).await
    }

    /// `token.transfer(to, value)` sent by the shop's own wallet `shop` (a refund): anvil signs for
    /// it once told to (`anvil_impersonateAccount`, and gas money); returns the receipt.
    pub(crate) async fn send_from_shop(
        &self,
        shop: &str,
        token: Address,
        to: &str,
        value: U256,
    ) -> Value {
        self.call("anvil_impersonateAccount", json!([shop])).await;
        self.call("anvil_setBalance", json!([shop, "0x56BC75E2D63100000"]))
            .await;
        self.call_token(
            shop,
            token,
            "transfer(address,uint256)",
            (addr(to), value).abi_encode_params(),
        )
        .await
    }

    /// `token.transfer(to, value)` from the customer; returns the receipt.
    pub(crate) async fn pay(&self, token: Address, to: &str, value: U256) -> Value {
        self.call_token(
            CUSTOMER,
            token,
            "transfer(address,uint256)",
            (addr(to), value).abi_encode_params(),
        )
        .await
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub(crate) fn addr(s: &str) -> Address {
    s.parse().unwrap()
}

/// Decimal token units → base units.
pub(crate) fn units(amount: &str, decimals: u8) -> U256 {
    let (int, frac) = amount.split_once('.').unwrap_or((amount, ""));
    let digits = format!("{int}{frac:0<width$}", width = decimals as usize);
    U256::from_str_radix(&digits, 10).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_hex(s: &str) -> Vec<u8> {
    let s = s.trim_start_matches("0x");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
