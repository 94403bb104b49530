//! A minimal NATS client for tests to set a server up: JetStream streams, consumers,
//! messages, deliveries and acks, over the text protocol with a token.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A minimal NATS client for setting up the server (plain TCP, token auth).
pub struct Setup {
    pub r: BufReader<TcpStream>,
    pub w: TcpStream,
}

impl Setup {
    pub fn connect(addr: &str, token: &str) -> Setup {
        Setup::connect_as(addr, &|_| format!("\"auth_token\":\"{token}\""))
    }

    /// Connects with the CONNECT fields `auth` gives for the server's nonce.
    pub fn connect_as(addr: &str, auth: &dyn Fn(&str) -> String) -> Setup {
        let w = TcpStream::connect(addr).unwrap();
        w.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut s = Setup {
            r: BufReader::new(w.try_clone().unwrap()),
            w,
        };
        let mut info = String::new();
        s.r.read_line(&mut info).unwrap();
        let info: serde_json::Value =
            serde_json::from_str(info.trim_start_matches("INFO ")).unwrap();
        let fields = auth(info["nonce"].as_str().unwrap_or(""));
        let hello =
            format!("CONNECT {{\"verbose\":false,{fields}}}\r\nSUB _INBOX.setup 1\r\nPING\r\n");
        s.w.write_all(hello.as_bytes()).unwrap();
        assert_eq!(s.line(), "PONG");
        s
    }
    pub fn line(&mut self) -> String {
        let mut l = String::new();
        self.r.read_line(&mut l).unwrap();
        l.trim_end().to_string()
    }
    /// The next message: (reply subject, payload).
    pub fn next_msg(&mut self) -> (String, String) {
        loop {
            let l = self.line();
            if let Some(rest) = l.strip_prefix("MSG ") {
                let parts: Vec<&str> = rest.split(' ').collect();
                let size: usize = parts.last().unwrap().parse().unwrap();
                let reply = if parts.len() == 4 {
                    parts[2].to_string()
                } else {
                    String::new()
                };
                let mut buf = vec![0; size + 2];
                self.r.read_exact(&mut buf).unwrap();
                return (reply, String::from_utf8_lossy(&buf[..size]).into_owned());
            }
        }
    }
    pub fn request(&mut self, subject: &str, body: &str) -> String {
        let msg = format!("PUB {subject} _INBOX.setup {}\r\n{body}\r\n", body.len());
        self.w.write_all(msg.as_bytes()).unwrap();
        let (_, payload) = self.next_msg();
        assert!(!payload.contains("\"error\""), "{subject}: {payload}");
        payload
    }

    /// A stream `name` on `name.>` with a durable explicit-ack consumer and `n` messages.
    pub fn stream_with_consumer(&mut self, name: &str, consumer: &str, n: usize) {
        self.request(
            &format!("$JS.API.STREAM.CREATE.{name}"),
            &format!(r#"{{"name":"{name}","subjects":["{name}.>"]}}"#),
        );
        self.request(
            &format!("$JS.API.CONSUMER.DURABLE.CREATE.{name}.{consumer}"),
            &format!(r#"{{"stream_name":"{name}","config":{{"durable_name":"{consumer}","ack_policy":"explicit"}}}}"#),
        );
        for i in 0..n {
            self.request(&format!("{name}.work"), &format!("job {i}"));
        }
    }
}
