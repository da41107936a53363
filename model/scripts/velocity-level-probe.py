import numpy as np, soundfile as sf, glob, os, sys, itertools
from scipy.signal import stft
bands={'kick':(30,150),'snare':(150,4000),'hihat':(6000,11500)}
def read(p):
    return [(float(t),c,int(v)) for t,c,v in (l.split('\t') for l in open(p))]
def load(est_dir, data):
    files=[]
    for wav in sorted(glob.glob(data+'/*.wav')):
        name=os.path.basename(wav)[:-4]
        ref=read(wav[:-4]+'.tsv'); est=read(f'{est_dir}/{name}.tsv')
        x,sr=sf.read(wav); x=x.mean(1) if x.ndim>1 else x
        f,t,Z=stft(x,sr,nperseg=512,noverlap=272,boundary=None,padded=False); P=np.abs(Z)**2
        per={}
        for c,(lo,hi) in bands.items():
            e=10*np.log10(P[(f>=lo)&(f<hi)].sum(0)+1e-10)
            E=sorted([(tt,v) for tt,cc,v in est if cc==c]); R=[(tt,v) for tt,cc,v in ref if cc==c]
            lv=[]
            for tt,v in E:
                k=int(np.clip(round(tt*sr/240),1,len(e)-3)); lv.append(e[max(0,k-2):k+2].max())
            match={}; used=set()
            for i,(tt,v) in enumerate(R):
                best=None
                for j,(te,ve) in enumerate(E):
                    if j in used: continue
                    if abs(te-tt)<=0.05 and (best is None or abs(te-tt)<abs(E[best][0]-tt)): best=j
                if best is not None: used.add(best); match[best]=v
            per[c]=(np.array([v for _,v in E],float),np.array(lv),match)
        files.append(per)
    return files
def score(files,alpha,beta):
    out={}
    for c in bands:
        rs=[]
        for per in files:
            ev,lv,match=per[c]
            if len(match)<4: continue
            m=None; comb=[]
            for v,l in zip(ev,lv):
                m=l if m is None else m
                comb.append(v+beta*(l-m)); m=(1-alpha)*m+alpha*l
            idx=sorted(match); tv=np.array([match[i] for i in idx],float); cv=np.array([comb[i] for i in idx])
            if tv.std()<1e-6 or cv.std()<1e-6: continue
            rs.append(np.corrcoef(tv,cv)[0,1])
        out[c]=float(np.mean(rs))
    out['mean']=float(np.mean(list(out.values())));return out
if __name__=='__main__':
    mode=sys.argv[1]
    if mode=='tune':
        F=load(sys.argv[2],sys.argv[3])
        for a,b in itertools.product((0.05,0.1,0.2),(0,0.5,1,1.5,2,3,4)):
            print(a,b,{k:round(v,3) for k,v in score(F,a,b).items()})
    else:
        a,b=float(sys.argv[4]),float(sys.argv[5]); F=load(sys.argv[2],sys.argv[3])
        for bb in (0,b): print(sys.argv[3],a,bb,{k:round(v,3) for k,v in score(F,a,bb).items()})
