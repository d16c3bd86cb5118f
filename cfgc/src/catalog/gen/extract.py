"""Tabulates facts from Kamailio 5.6.3's module export tables into generated.rs.

Only names, arities, route masks, parameter types and PV names are kept, plus
classifications derived from the fixup each function declares. No Kamailio
code is copied.

Usage:
    python3 extract.py [KAMAILIO_SRC [OUT_FILE]]

KAMAILIO_SRC is an unpacked Kamailio 5.6.3 source tree (the directory holding
`src/modules` and `src/core`). It defaults to $KAMAILIO_SRC, else to
`./kamailio-5.6.3`, where Debian's `apt-get source kamailio` unpacks the
5.6.3 source package (Debian 12; needs a `deb-src` line). A git checkout works
too: `git archive 5.6.3 src/modules src/core | tar -x -C DIR`.
OUT_FILE defaults to `../generated.rs` next to this script (the catalog's
generated.rs). Set $CATALOG_JSON to a path to also dump the raw extraction
(for debugging). Problems met while reading the tables are printed, then the
counts of modules, functions, parameters and PVs.
"""
import re, json, sys, os, glob
SRC = sys.argv[1] if len(sys.argv) > 1 else os.environ.get('KAMAILIO_SRC', 'kamailio-5.6.3')
OUT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'generated.rs')
MODDIR = os.path.join(SRC, 'src', 'modules')
if not os.path.isdir(MODDIR):
    sys.exit(f'{MODDIR}: not a directory; pass the Kamailio 5.6.3 source tree (see the usage at the top of extract.py)')
mods = sorted(d for d in os.listdir(MODDIR) if os.path.isdir(os.path.join(MODDIR, d)))
def strip_comments(s):
    s=re.sub(r'/\*.*?\*/',' ',s,flags=re.S)
    s=re.sub(r'//[^\n]*','',s)
    return s
def block(src, pat):
    out=[]
    for m in re.finditer(pat, src):
        i=src.index('{', m.end()-1)
        depth=0; j=i
        while j<len(src):
            if src[j]=='{': depth+=1
            elif src[j]=='}':
                depth-=1
                if depth==0: break
            j+=1
        out.append(src[i+1:j])
    return out
def entries(body):
    res=[];depth=0;cur=None
    for ch in body:
        if ch=='{':
            depth+=1
            if depth==1: cur='';continue
        if ch=='}':
            depth-=1
            if depth==0: res.append(cur);cur=None;continue
        if cur is not None: cur+=ch
    return res
def fields(e):
    out=[];depth=0;cur=''
    for ch in e:
        if ch in '({':depth+=1
        if ch in ')}':depth-=1
        if ch==',' and depth==0: out.append(cur.strip());cur='';continue
        cur+=ch
    if cur.strip(): out.append(cur.strip())
    return out
RT={'REQUEST_ROUTE':1,'FAILURE_ROUTE':2,'TM_ONREPLY_ROUTE':4,'BRANCH_ROUTE':8,'ONSEND_ROUTE':16,'ERROR_ROUTE':32,'LOCAL_ROUTE':64,'CORE_ONREPLY_ROUTE':128,'BRANCH_FAILURE_ROUTE':256,'ONREPLY_ROUTE':132,'ONEVENT_ROUTE':512,'EVENT_ROUTE':513,'ANY_ROUTE':0xFFFFFFFF}
def evalmask(s,defs):
    s=s.strip()
    toks=re.split(r'\s*\|\s*',s.strip('() '))
    v=0
    for t in toks:
        t=t.strip('() ')
        if t in RT: v|=RT[t]
        elif t in defs: v|=evalmask(defs[t],defs)
        elif re.fullmatch(r'\d+',t): v|=int(t)
        else: raise ValueError(s)
    return v
result={}
def cname(tok,defs,depth=0):
    out=''
    for t in re.findall(r'"(?:[^"\\]|\\.)*"|[A-Za-z_]\w*',tok):
        if t.startswith('"'): out+=t[1:-1]
        elif t in defs and depth<5:
            v=cname(defs[t],defs,depth+1)
            if v is None: return None
            out+=v
        else: return None
    return out
for mod in mods:
    files=[f for f in glob.glob(os.path.join(MODDIR,mod,'**','*'),recursive=True) if f.endswith('.c') or f.endswith('.h')]
    srcs={f:strip_comments(open(f,encoding='utf-8',errors='replace').read()) for f in files}
    defs={}
    for s in srcs.values():
        for m in re.finditer(r'#define\s+(\w+)\s+([^\n]+)',s): defs[m.group(1)]=m.group(2)
    cmds=[];params=[];pvs=[];probs=[]
    for f,s in srcs.items():
        for b in block(s, r'cmd_export_t\s+\w+\s*\[\s*\]\s*=\s*\{'):
            for e in entries(b):
                fl=fields(e)
                if len(fl)<6 or fl[0]=='0' or fl[0]=='NULL': continue
                name=cname(fl[0],defs)
                if name is None: probs.append('name '+fl[0]); continue
                pn=fl[2]
                if pn=='VAR_PARAM_NO': pn=-1
                else:
                    try: pn=int(pn)
                    except: pn=int(defs.get(pn,'99').strip()) if defs.get(pn,'').strip().isdigit() else None
                try: mask=evalmask(fl[5],defs)
                except Exception as ex: mask=0xFFFFFFFF; probs.append('mask '+name+' '+fl[5])
                fx=fl[3].replace('(fixup_function)','').strip(); ff=fl[4].replace('(free_fixup_function)','').strip()
                cmds.append(dict(name=name,n=pn,fixup=fx,free=ff,mask=mask))
        for b in block(s, r'param_export_t\s+\w+\s*\[\s*\]\s*=\s*\{'):
            for e in entries(b):
                fl=fields(e)
                if len(fl)<2 or fl[0] in ('0','NULL'): continue
                pname=cname(fl[0],defs)
                if pname is None: probs.append('pname '+fl[0]); continue
                params.append(dict(name=pname,type=fl[1]))
        for b in block(s, r'pv_export_t\s+\w+\s*\[\s*\]\s*=\s*\{'):
            for e in entries(b):
                m=re.match(r'\s*\{\s*"([^"]+)"',e)
                if not m: continue
                fl=fields(e)
                # fl[0] is {"name",len}
                rest=fl[1:]
                pvs.append(dict(name=m.group(1),set=rest[2] if len(rest)>2 else '0',parse=rest[3] if len(rest)>3 else '0',idx=rest[4] if len(rest)>4 else '0'))
    result[mod]=dict(cmds=cmds,params=params,pvs=pvs,probs=probs)
if os.environ.get('CATALOG_JSON'):
    json.dump(result,open(os.environ['CATALOG_JSON'],'w'),indent=1)
for m,r in result.items():
    if r['probs']: print(m,r['probs'])
print(len(result), sum(len(r['cmds']) for r in result.values()), sum(len(r['params']) for r in result.values()), sum(len(r['pvs']) for r in result.values()))

# ---- derive facts and emit Rust ------------------------------------------
FPARAM_RVE={'fixup_var_str_12','fixup_var_str_1','fixup_var_str_2','fixup_var_pve_str_12','fixup_var_pve_str_1','fixup_var_pve_str_2','fixup_var_int_12','fixup_var_int_1','fixup_var_int_2','fixup_int_12','fixup_int_1','fixup_int_2','fixup_str_12','fixup_str_1','fixup_str_2','fixup_regex_12','fixup_regex_1','fixup_regex_2'}
AUTO_FREE={'fixup_str_null','fixup_str_str','fixup_regexp_null','fixup_pvar_null','fixup_pvar_pvar','fixup_pvar_str','fixup_pvar_str_str','fixup_igp_igp','fixup_igp_null','fixup_igp_pvar','fixup_igp_pvar_pvar','fixup_spve_spve','fixup_spve_null','fixup_spve_str'}
def norm(x):
    x=re.sub(r'\(\s*\w+\s*\)','',x).strip()
    return '0' if x in ('0','NULL','') else x
def needs_const(fx,ff):
    fx=norm(fx);ff=norm(ff)
    if fx=='0': return False
    if fx in FPARAM_RVE: return False
    if ff!='0': return False
    if fx in AUTO_FREE: return False
    return True
# Bit i: argument i+1 is parsed as a PV format (pv_parse_format, an error at
# Kamailio's fixups if it names an unknown PV). Not the fixup_var_str_*
# family: FPARAM_PVS takes the whole string as one PV only if it parses as
# one, else AVP, select, then the plain string, so it never fails on a `$`.
# Fixups mixing kinds, read from their 5.6.3 definitions: which parameters
# go to a PVE fixup (fixup_spve_*, fixup_var_pve_str_12). The others are
# fixup_igp_*/fixup_var_int_* (an int or one PV), fixup_var_str_* (see
# above) or hname_fixup (a header name).
FMT_ARGS={'add_header_fixup':1,'fixup_igp_spve':2,'fixup_none_spve':2,'fixup_spve_spve_igp':3,
 'fixup_sl_reply':2,'fixup_sl_reply_mode':2,'fixup_t_reply':0}
def fmt_args(fx,n):
    fx=norm(fx)
    if fx=='0': return 0
    if fx in FMT_ARGS: return FMT_ARGS[fx]&((1<<n)-1 if n>0 else 0x3f)
    f=fx.lower()
    if any(k in f for k in ('spve','pve','xlog','xdbg','sl_reply','t_reply','add_header','pv_printf','fparam_all')):
        if fx.endswith('_null') or fx.endswith('_1') or fx.endswith('_none') and False: return 1
        if fx.endswith('_2'): return 2
        if 'spve_igp' in fx or 'spve_uint' in fx or 'spve_str' in fx: return 1
        return (1<<max(n,0))-1 if n>0 else 0x3f
    return 0
RE_ARGS={'fixup_regexp_null':1,'fixup_regexp_none':1,'fixup_regexpNL_none':1,'fixup_regexp_regexp':3,'fixup_igp_regexp':2,'fixup_t_check_status':1,'fixup_regex_12':3,'fixup_regex_1':1,'fixup_regex_2':2}
INT_ARGS={'fixup_var_int_12':3,'fixup_var_int_1':1,'fixup_var_int_2':2,'fixup_int_12':3,'fixup_int_1':1,'fixup_int_2':2,
 'fixup_igp_null':1,'fixup_igp_igp':3,'fixup_igp_pvar':1,'fixup_igp_pvar_pvar':1,'fixup_igp_all':0x3f,'fixup_uint_null':1,'fixup_uint_uint':3,
 'fixup_spve_igp':2,'fixup_spve_uint':2,'fixup_igp_regexp':1,'fixup_sl_reply':1,'fixup_t_reply':1,'fixup_sl_reply_mode':1}
def int_args(fx):
    return INT_ARGS.get(norm(fx),0)
def re_args(fx):
    return RE_ARGS.get(norm(fx),0)
FIXDEFS={}
def custom_fixups(mod):
    out={}
    for f in glob.glob(os.path.join(MODDIR,mod,'**','*.c'),recursive=True):
        src=strip_comments(open(f,encoding='utf-8',errors='replace').read())
        for m in re.finditer(r'\bint\s+(\w+)\s*\(\s*void\s*\*\*\s*\w+\s*,\s*int\s+(\w+)\s*\)\s*\{',src):
            name,pn=m.group(1),m.group(2)
            i=m.end(); depth=1; j=i
            while j<len(src) and depth>0:
                if src[j]=='{': depth+=1
                elif src[j]=='}': depth-=1
                j+=1
            body=src[i:j]
            segs=re.split(r'(?:'+pn+r'\s*==\s*(\d)|case\s+(\d)\s*:)',body)
            m2={}
            k=1
            while k+2<len(segs):
                n=segs[k] or segs[k+1]
                seg=segs[k+2]
                # Only when the first call in the branch is the helper.
                calls=[c for c in re.findall(r'\b(\w+)\s*\(',seg) if c not in ('if','while','switch','return','sizeof','for')]
                if n and calls and calls[0].startswith('fixup_') and int(n) not in m2: m2[int(n)]=calls[0]
                k+=3
            # A fixup parsing its argument(s) with pv_parse_format itself
            # (rr's it_list_fixup, acc's acc_fixup): per branch, or every
            # argument when it does not look at the parameter number.
            if len(segs)==1 and re.search(r'\bpv_parse_format\s*\(',body): m2={k:'pv_parse_format' for k in range(1,7)}
            else:
                k=1
                while k+2<len(segs):
                    n=segs[k] or segs[k+1]
                    if n and int(n) not in m2 and re.search(r'\bpv_parse_format\s*\(',segs[k+2]): m2[int(n)]='pv_parse_format'
                    k+=3
            if m2: out[name]=m2
    return out
def helper_kind(h):
    h=h.lower()
    if 'spve' in h or 'pve' in h or h=='pv_parse_format': return 'fmt'
    if 'regexp' in h or 'regex_' in h: return 're'
    if 'igp' in h or 'var_int' in h or re.match(r'fixup_u?int_',h): return 'int'
    return None
def custom_masks(mod,fx,n):
    m=FIXDEFS.setdefault(mod,custom_fixups(mod)).get(norm(fx))
    fm=rm=im=0
    if not m: return None
    for p,h in m.items():
        if p<1 or p>6: continue
        k=helper_kind(h)
        if k=='fmt': fm|=1<<(p-1)
        elif k=='re': rm|=1<<(p-1)
        elif k=='int': im|=1<<(p-1)
    return fm,rm,im
rust=[]
names={}
for mod in mods:
    nm=mod
    for f in glob.glob(os.path.join(MODDIR,mod,'*.c')):
        s=strip_comments(open(f,encoding='utf-8',errors='replace').read())
        m=re.search(r'module_exports\s+\w+\s*=\s*\{\s*"([^"]+)"',s)
        if m: nm=m.group(1);break
    names[mod]=nm
out=[]
out.append('//! Generated: module exports of Kamailio 5.6.3 (names, arities, route masks,')
out.append('//! argument constancy, parameter types, exported PVs). Facts only, tabulated by')
out.append('//! `gen/extract.py` from the 5.6.3 export tables. Do not edit by hand; put')
out.append('//! corrections in `modules.rs`.')
out.append('')
out.append('use super::{Arity, Function, Module, ParamKind, ModParam, PvDef, PvInner};')
out.append('')
out.append('pub(super) static MODULES: &[Module] = &[')
for mod in sorted(mods, key=lambda m: names[m]):
    r=result[mod]
    out.append('    Module {')
    out.append(f'        name: "{names[mod]}",')
    out.append('        functions: &[')
    for c in r['cmds']:
        if c['mask']==0 or c['n'] is None: continue  # API-only exports (bind_*)
        if c['name'].startswith('bind_') or c['name'].startswith('load_'): continue
        ar='Arity::Var' if c['n']==-1 else f"Arity::Fixed({c['n']})"
        fm,rm,im=fmt_args(c["fixup"],c["n"]),re_args(c["fixup"]),int_args(c["fixup"])
        if fm==0 and rm==0 and im==0 and norm(c["fixup"])!='0':
            cm=custom_masks(mod,c["fixup"],c["n"])
            if cm:
                lim=(1<<c['n'])-1 if c['n']>=0 else 0x3f
                fm,rm,im=cm[0]&lim,cm[1]&lim,cm[2]&lim
        out.append(f'            Function {{ name: "{c["name"]}", arity: {ar}, mask: 0x{c["mask"]:x}, const_args: {str(needs_const(c["fixup"],c["free"])).lower()}, fmt_args: 0b{fm:b}, regex_args: 0b{rm:b}, int_args: 0b{im:b} }},')
    out.append('        ],')
    out.append('        params: &[')
    seen={}
    for p in r['params']:
        t=p['type']; k=0
        if 'INT' in t: k|=1
        if 'STR' in t: k|=2
        if k==0: k=3
        seen[p['name']]=seen.get(p['name'],0)|k
    for pn,k in seen.items():
        kind={1:'ParamKind::Int',2:'ParamKind::Str',3:'ParamKind::Any'}[k]
        out.append(f'            ModParam {{ name: "{pn}", kind: {kind} }},')
    out.append('        ],')
    out.append('        pvs: &[')
    for p in r['pvs']:
        w='false' if norm(p['set'])=='0' else 'true'
        inner='PvInner::None' if norm(p['parse'])=='0' else 'PvInner::Name'
        out.append(f'            PvDef {{ name: "{p["name"]}", writable: {w}, inner: {inner} }},')
    out.append('        ],')
    out.append('    },')
out.append('];')
open(OUT,'w').write('\n'.join(out)+'\n')
