//! Just enough of Python's pickle to read Chroma's `index_metadata.pickle` (a dict of ids, labels
//! and counters). Only data opcodes are accepted: nothing here can name a class or call code.

use anyhow::{bail, Result};

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
}

impl Value {
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Dict(items) => items
                .iter()
                .find(|(k, _)| matches!(k, Value::Str(s) if s == key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

enum Slot {
    Mark,
    V(Value),
}

struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        if self.b.len() - self.at < n {
            bail!("pickle ends early at byte {}", self.at);
        }
        let s = &self.b[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
}

fn pop_mark(stack: &mut Vec<Slot>) -> Result<Vec<Value>> {
    let mut items = Vec::new();
    loop {
        match stack.pop() {
            Some(Slot::Mark) => break,
            Some(Slot::V(v)) => items.push(v),
            None => bail!("pickle has no mark"),
        }
    }
    items.reverse();
    Ok(items)
}

fn pop(stack: &mut Vec<Slot>) -> Result<Value> {
    match stack.pop() {
        Some(Slot::V(v)) => Ok(v),
        _ => bail!("pickle stack underflow"),
    }
}

fn extend(target: &mut Value, items: Vec<Value>) -> Result<()> {
    match target {
        Value::Dict(d) => {
            if !items.len().is_multiple_of(2) {
                bail!("pickle dict with an odd item count");
            }
            let mut it = items.into_iter();
            while let (Some(k), Some(v)) = (it.next(), it.next()) {
                d.push((k, v));
            }
        }
        Value::List(l) => l.extend(items),
        _ => bail!("pickle adds items to a non-container"),
    }
    Ok(())
}

/// Memoised values are copies here (the dicts Chroma writes never share objects).
pub fn parse(bytes: &[u8]) -> Result<Value> {
    let mut c = Cursor { b: bytes, at: 0 };
    let mut stack: Vec<Slot> = Vec::new();
    let mut memo: std::collections::HashMap<u32, Value> = Default::default();
    loop {
        let op = c.u8()?;
        match op {
            0x80 => {
                c.u8()?; // PROTO n
            }
            0x95 => {
                c.take(8)?; // FRAME length
            }
            b'}' => stack.push(Slot::V(Value::Dict(Vec::new()))),
            b']' => stack.push(Slot::V(Value::List(Vec::new()))),
            b'(' => stack.push(Slot::Mark),
            b'N' => stack.push(Slot::V(Value::None)),
            0x88 => stack.push(Slot::V(Value::Bool(true))),
            0x89 => stack.push(Slot::V(Value::Bool(false))),
            b'J' => {
                let v = c.u32()? as i32;
                stack.push(Slot::V(Value::Int(v as i64)))
            }
            b'K' => {
                let v = c.u8()?;
                stack.push(Slot::V(Value::Int(v as i64)))
            }
            b'M' => {
                let s = c.take(2)?;
                stack.push(Slot::V(Value::Int(u16::from_le_bytes([s[0], s[1]]) as i64)))
            }
            0x8a => {
                let n = c.u8()? as usize;
                let s = c.take(n)?;
                if n > 8 {
                    bail!("pickle integer wider than 64 bits");
                }
                let mut buf = if s.last().is_some_and(|b| b & 0x80 != 0) {
                    [0xffu8; 8]
                } else {
                    [0u8; 8]
                };
                buf[..n].copy_from_slice(s);
                stack.push(Slot::V(Value::Int(i64::from_le_bytes(buf))))
            }
            b'G' => {
                let s = c.take(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(s);
                stack.push(Slot::V(Value::Float(f64::from_be_bytes(a))))
            }
            b'X' | 0x8c => {
                let n = if op == b'X' {
                    c.u32()? as usize
                } else {
                    c.u8()? as usize
                };
                let s = std::str::from_utf8(c.take(n)?)?.to_string();
                stack.push(Slot::V(Value::Str(s)))
            }
            b'q' | b'r' | 0x94 => {
                let key = match op {
                    b'q' => c.u8()? as u32,
                    b'r' => c.u32()?,
                    _ => memo.len() as u32,
                };
                if let Some(Slot::V(v)) = stack.last() {
                    memo.insert(key, v.clone());
                }
            }
            b'h' | b'j' => {
                let key = if op == b'h' { c.u8()? as u32 } else { c.u32()? };
                let v = memo
                    .get(&key)
                    .cloned()
                    .ok_or_else(|| anyhow::anyhow!("pickle refers to unknown memo {key}"))?;
                stack.push(Slot::V(v))
            }
            b's' | b'a' => {
                let mut items = vec![pop(&mut stack)?];
                if op == b's' {
                    items.insert(0, pop(&mut stack)?);
                }
                match stack.last_mut() {
                    Some(Slot::V(t)) => extend(t, items)?,
                    _ => bail!("pickle adds items to nothing"),
                }
            }
            b'u' | b'e' => {
                let items = pop_mark(&mut stack)?;
                match stack.last_mut() {
                    Some(Slot::V(t)) => extend(t, items)?,
                    _ => bail!("pickle adds items to nothing"),
                }
            }
            b'.' => return pop(&mut stack),
            other => bail!(
                "pickle opcode 0x{other:02x} at byte {} is not plain data",
                c.at - 1
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_dict_chroma_writes() {
        // pickle.dumps({'max_seq_id': None, 'id_to_label': {'a': 1, 'b': 300}, 'n': 70000, 'f': True}, protocol=3)
        let b = b"\x80\x03}q\x00(X\n\x00\x00\x00max_seq_idq\x01NX\x0b\x00\x00\x00id_to_labelq\x02}q\x03(X\x01\x00\x00\x00aq\x04K\x01X\x01\x00\x00\x00bq\x05M,\x01uX\x01\x00\x00\x00nq\x06Jp\x11\x01\x00X\x01\x00\x00\x00fq\x07\x88u.";
        let v = parse(b).unwrap();
        assert_eq!(v.get("max_seq_id"), Some(&Value::None));
        assert_eq!(v.get("n"), Some(&Value::Int(70000)));
        assert_eq!(v.get("f"), Some(&Value::Bool(true)));
        let Some(Value::Dict(m)) = v.get("id_to_label") else {
            panic!()
        };
        assert_eq!(m[1], (Value::Str("b".into()), Value::Int(300)));
    }

    #[test]
    fn refuses_code_and_truncation() {
        // GLOBAL 'os system'
        assert!(parse(b"\x80\x03cos\nsystem\n.").is_err());
        assert!(parse(b"\x80\x03}X\x05\x00\x00\x00ab").is_err());
    }
}
